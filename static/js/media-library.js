// The media library's upload form: several files at once, with progress.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData) { return; }
  var progress = document.getElementById("upload-progress");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    progress.hidden = false;
    progress.value = 0;
    var fields = { caption: form.elements.caption.value, alt: form.elements.alt.value };
    window.NewsdeskUpload(form.elements.file.files, fields, function (percent) { progress.value = percent; })
      .then(function () { window.location.href = "/admin/media?done=uploaded"; })
      .catch(function (message) {
        progress.hidden = true;
        var alert = document.createElement("div");
        alert.className = "alert error";
        alert.setAttribute("role", "alert");
        alert.textContent = message;
        form.parentNode.insertBefore(alert, form);
      });
  });
})();
