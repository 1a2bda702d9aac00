//! Kassa's checkout, rendered in the browser.

use leptos::prelude::*;

/// Until the card form lands, the checkout says where the shopper is and what it will do.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <main class="kassa-checkout" aria-labelledby="kassa-title">
            <h1 id="kassa-title">"Kassa checkout"</h1>
            <p data-testid="placeholder">"The card form is coming soon."</p>
        </main>
    }
}
