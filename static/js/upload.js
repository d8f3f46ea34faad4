// Uploads photos to /admin/media with progress; shared by the media library
// and the article editor.
window.NewsdeskUpload = function (files, fields, onProgress) {
  "use strict";
  var token = document.querySelector("input[name=csrf_token]").value;
  return new Promise(function (resolve, reject) {
    var data = new FormData();
    Array.prototype.forEach.call(files, function (file) { data.append("file", file); });
    Object.keys(fields || {}).forEach(function (name) { data.append(name, fields[name]); });
    var request = new XMLHttpRequest();
    request.open("POST", "/admin/media");
    request.setRequestHeader("X-CSRF-Token", token);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable && onProgress) { onProgress(Math.round(event.loaded * 100 / event.total)); }
    });
    request.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(request.responseText); } catch (e) { body = null; }
      if (request.status === 200 && body) { resolve(body.files); }
      else { reject((body && body.error) || "上传失败，请重试。"); }
    });
    request.addEventListener("error", function () { reject("网络中断，上传失败。"); });
    request.send(data);
  });
};
