// Escape inside the bank's page closes the modal around it: tell the opener, and only its origin.
(function () {
  var origin = document.body.dataset.origin;
  if (!origin || window.parent === window) return;
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') window.parent.postMessage({ source: 'kassa', type: 'three_ds_escape' }, origin);
  });
})();
