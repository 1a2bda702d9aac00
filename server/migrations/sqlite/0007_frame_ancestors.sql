-- The origins around the page that confirmed (an embedded checkout's shop page), which the
-- 3-D Secure page lets frame it besides that page's own origin. Space-separated.
ALTER TABLE payment_intents ADD COLUMN frame_ancestors TEXT;
