// Small enhancements only: every page works without this file.
(function () {
  'use strict';
  // Disable a form's submit button while it is being sent, so a slow network does not
  // produce a second submission; the label tells the user something is happening.
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var btn = form.querySelector('button[type=submit], button:not([type])');
    if (btn && !btn.disabled) {
      var busy = btn.getAttribute('data-busy');
      setTimeout(function () { btn.disabled = true; if (busy) btn.textContent = busy; }, 0);
    }
  });
})();
