// The comment form: a fresh captcha on "换一张" (and when the page has been
// open long enough for its captcha to go stale), and replies to a comment.
(function () {
  "use strict";
  var form = document.getElementById("comment-form");
  if (!form) { return; }
  var idField = form.querySelector("input[name=captcha_id]");
  var image = form.querySelector(".captcha-image");
  var answer = form.querySelector("input[name=captcha_answer]");
  // The id starts with the captcha's expiry (seconds since 1970).
  function remaining() {
    return parseInt(idField.value.split("-")[0], 10) * 1000 - Date.now();
  }

  function refreshCaptcha(focus) {
    return fetch("/captcha/new", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (captcha) {
        idField.value = captcha.id;
        image.src = captcha.image;
        answer.value = "";
        if (focus) { answer.focus(); }
      });
  }

  var refresh = form.querySelector(".captcha-refresh");
  refresh.addEventListener("click", function (event) {
    event.preventDefault();
    refreshCaptcha(true);
  });
  // A captcha lasts five minutes: renew it before it is typed when less
  // than three are left (the page was open for a while, or came from the
  // browser's cache).
  function renewIfStale() {
    if (!(remaining() > 180000)) { refreshCaptcha(false); }
  }
  form.addEventListener("focusin", renewIfStale);
  window.addEventListener("pageshow", renewIfStale);

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
