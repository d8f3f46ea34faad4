// The comment form: replies to a comment (its captcha is kept fresh by
// forms.js, as every form's).
(function () {
  "use strict";
  var form = document.getElementById("comment-form");
  if (!form) { return; }
  var parent = form.querySelector("input[name=parent_id]");
  var replying = form.querySelector(".replying");
  var replyingName = form.querySelector(".replying-name");
  var body = form.querySelector("textarea[name=body]");
  Array.prototype.forEach.call(document.querySelectorAll(".reply-link"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      parent.value = link.getAttribute("data-reply");
      replyingName.textContent = link.getAttribute("data-name");
      replying.hidden = false;
      body.focus();
    });
  });
  form.querySelector(".cancel-reply").addEventListener("click", function (event) {
    event.preventDefault();
    parent.value = "";
    replying.hidden = true;
  });
})();
