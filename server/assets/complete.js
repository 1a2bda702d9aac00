// Tells the page that opened the 3-D Secure challenge how it ended, and only that page's origin.
(function () {
  var d = document.body.dataset;
  var message = { source: 'kassa', type: 'three_ds_complete', paymentIntentId: d.intent, status: d.status };
  if (d.origin && window.parent !== window) {
    window.parent.postMessage(message, d.origin);
  } else if (d.origin && window.opener) {
    window.opener.postMessage(message, d.origin);
  } else if (d.returnUrl) {
    var url = new URL(d.returnUrl);
    url.searchParams.set('payment_intent', d.intent);
    url.searchParams.set('status', d.status);
    window.location.replace(url.toString());
  }
})();
