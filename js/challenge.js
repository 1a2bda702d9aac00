// The 3-D Secure challenge in an accessible modal: focus moves in and is trapped there, Escape
// cancels, and focus returns to where it was. Only the challenge page's origin can finish it.

// EMV 3-D Secure challenge window sizes, in CSS pixels.
const SIZES = { '01': [250, 400], '02': [390, 400], '03': [500, 600], '04': [600, 400] };

function element(tag, properties = {}, style = {}) {
  const node = Object.assign(document.createElement(tag), properties);
  Object.assign(node.style, style);
  return node;
}

export function openChallenge(url, windowSize) {
  return new Promise((resolve) => {
    const origin = new URL(url).origin;
    const previous = document.activeElement;
    const [width, height] = SIZES[windowSize] ?? [null, null];

    const overlay = element('div', {}, {
      position: 'fixed', inset: '0', zIndex: '2147483647', display: 'flex', alignItems: 'center',
      justifyContent: 'center', background: 'rgba(10, 13, 28, 0.55)',
    });
    const dialog = element('div', {}, {
      position: 'relative', background: '#fff', borderRadius: width ? '10px' : '0', overflow: 'hidden',
      width: width ? `min(${width}px, 100vw)` : '100vw', height: height ? `min(${height + 48}px, 100vh)` : '100vh',
      display: 'flex', flexDirection: 'column', boxShadow: '0 12px 40px rgba(0, 0, 0, 0.3)',
    });
    dialog.setAttribute('role', 'dialog');
    dialog.setAttribute('aria-modal', 'true');
    dialog.setAttribute('aria-label', 'Confirm this payment with your bank');
    const bar = element('div', {}, { display: 'flex', justifyContent: 'flex-end', padding: '6px', borderBottom: '1px solid #e3e6ee' });
    const close = element('button', { type: 'button', textContent: 'Cancel' }, {
      font: '500 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', padding: '6px 14px', borderRadius: '6px', border: '1px solid #c3c8d4', background: '#fff', cursor: 'pointer',
    });
    close.setAttribute('aria-label', 'Cancel the bank check');
    const frame = element('iframe', { src: url, title: '3-D Secure: confirm your payment with your bank' }, {
      border: '0', width: '100%', flex: '1',
    });
    bar.append(close);
    dialog.append(bar, frame);
    overlay.append(dialog);

    let done = false;
    function finish(result) {
      if (done) return;
      done = true;
      window.removeEventListener('message', onMessage);
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('focusin', onFocus, true);
      overlay.remove();
      if (previous && typeof previous.focus === 'function') previous.focus();
      resolve(result);
    }
    function onMessage(event) {
      const data = event.data;
      if (event.origin !== origin || event.source !== frame.contentWindow) return;
      if (data?.source !== 'kassa') return;
      if (data.type === 'three_ds_complete') finish('completed');
      // Escape pressed inside the bank's page, which this page's key listener cannot hear.
      if (data.type === 'three_ds_escape') finish('cancelled');
    }
    function onKey(event) {
      if (event.key === 'Escape') {
        event.preventDefault();
        finish('cancelled');
      } else if (event.key === 'Tab' && dialog.contains(document.activeElement)) {
        // Two stops in the dialog's own document: the Cancel button and the bank's page.
        event.preventDefault();
        (document.activeElement === close ? frame : close).focus();
      }
    }
    function onFocus(event) {
      if (!dialog.contains(event.target)) close.focus();
    }

    close.addEventListener('click', () => finish('cancelled'));
    window.addEventListener('message', onMessage);
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('focusin', onFocus, true);
    document.body.append(overlay);
    frame.focus();
  });
}
