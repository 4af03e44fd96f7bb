// Copy buttons: a button with data-copy="ID" copies the value of the field with that id.
// The buttons start hidden and appear only when this script runs; without it the fields
// are read-only and can be selected and copied by hand.
"use strict";

document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  if (!field) {
    return;
  }
  var label = button.textContent;
  function copied() {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(copied, function () {});
    } else if (document.execCommand("copy")) {
      // Plain-http deployments have no Clipboard API.
      copied();
    }
  });
});
