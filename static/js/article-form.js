// The article form: editor set-up, author autocomplete, and a local
// autosave every 30 seconds that survives reloads and expired sessions.
(function () {
  "use strict";

  // Paragraphs as <p>, Enter starts a new one; headings are h2 and h3.
  document.addEventListener("trix-before-initialize", function () {
    var blocks = window.Trix.config.blockAttributes;
    blocks["default"].tagName = "p";
    blocks["default"].breakOnReturn = true;
    blocks.heading1.tagName = "h2";
    blocks.heading3 = { tagName: "h3", terminal: true, breakOnReturn: true, group: false };
    // Everything the editor says, in Chinese: its buttons' names, the link
    // dialog, the caption placeholder, the attachment labels.
    var lang = window.Trix.config.lang;
    var chinese = {
      attachFiles: "插入图片", bold: "加粗", bullets: "项目符号", byte: "字节", bytes: "字节",
      captionPlaceholder: "添加图片说明…", code: "代码", heading1: "小标题", indent: "增加缩进",
      italic: "倾斜", link: "链接", numbers: "编号", outdent: "减少缩进", quote: "引用",
      redo: "重做", remove: "删除", strike: "删除线", undo: "撤销", unlink: "取消链接",
      url: "网址", urlPlaceholder: "输入网址…"
    };
    Object.keys(chinese).forEach(function (key) { lang[key] = chinese[key]; });
    // A photo without a caption shows none (not its file name and size).
    window.Trix.config.attachments.preview.caption = { name: false, size: false };
    if (window.Trix.config.attachments.file) {
      window.Trix.config.attachments.file.caption = { name: true, size: false };
    }
  });

  document.addEventListener("trix-initialize", function (event) {
    var toolbar = event.target.toolbarElement;
    // A toolbar drawn before the strings were set is named again.
    var names = {
      bold: "加粗", italic: "倾斜", strike: "删除线", href: "链接", heading1: "小标题",
      quote: "引用", code: "代码", bullet: "项目符号", number: "编号",
      decreaseNestingLevel: "减少缩进", increaseNestingLevel: "增加缩进",
      attachFiles: "插入图片", undo: "撤销", redo: "重做"
    };
    Array.prototype.forEach.call(toolbar.querySelectorAll("[data-trix-attribute], [data-trix-action]"), function (button) {
      var key = button.getAttribute("data-trix-attribute") || button.getAttribute("data-trix-action");
      if (names[key] && button.tagName === "BUTTON") {
        button.title = names[key];
        if (button.classList.contains("trix-button--icon")) { button.textContent = names[key]; }
      }
    });
    Array.prototype.forEach.call(toolbar.querySelectorAll("input[name=href]"), function (input) {
      input.placeholder = "输入网址…";
      input.setAttribute("aria-label", "网址");
    });
    Array.prototype.forEach.call(toolbar.querySelectorAll(".trix-dialog input[type=button]"), function (button) {
      if (button.getAttribute("data-trix-method") === "setAttribute") { button.value = "链接"; }
      if (button.getAttribute("data-trix-method") === "removeAttribute") { button.value = "取消链接"; }
    });
    var h2 = toolbar.querySelector("[data-trix-attribute=heading1]");
    if (h2 && !toolbar.querySelector("[data-trix-attribute=heading3]")) {
      var h3 = document.createElement("button");
      h3.type = "button";
      h3.className = "trix-button trix-button--text";
      h3.setAttribute("data-trix-attribute", "heading3");
      h3.title = "三级标题";
      h3.tabIndex = -1;
      h3.textContent = "H3";
      h2.insertAdjacentElement("afterend", h3);
    }
  });

  // Photos: only the types the server takes; each is uploaded at once and
  // becomes a figure with its caption (Trix's caption field).
  document.addEventListener("trix-file-accept", function (event) {
    if (!/^image\/(jpeg|png|webp|gif)$/.test(event.file.type)) { event.preventDefault(); }
  });
  document.addEventListener("trix-attachment-add", function (event) {
    var attachment = event.attachment;
    if (!attachment.file) { return; }
    window.NewsdeskUpload([attachment.file], {}, function (percent) { attachment.setUploadProgress(percent); })
      .then(function (files) {
        attachment.setAttributes({ url: files[0].url });
      })
      .catch(function (message) {
        attachment.remove();
        window.alert(message);
      });
  });

  // Stored bodies hold plain <figure><img><figcaption>; the editor needs
  // them as attachments to keep photo and caption together.
  document.addEventListener("trix-before-initialize", function (event) {
    var input = document.getElementById(event.target.getAttribute("input"));
    if (!input || input.value.indexOf("<figure") < 0) { return; }
    var holder = document.createElement("div");
    holder.innerHTML = input.value;
    Array.prototype.forEach.call(holder.querySelectorAll("figure"), function (figure) {
      var img = figure.querySelector("img");
      if (!img) { return; }
      var caption = figure.querySelector("figcaption");
      figure.setAttribute("data-trix-attachment", JSON.stringify({
        contentType: "image", url: img.getAttribute("src")
      }));
      figure.setAttribute("data-trix-attributes", JSON.stringify({ caption: caption ? caption.textContent : "" }));
    });
    input.value = holder.innerHTML;
  });

  var form = document.getElementById("article-form");
  if (!form) { return; }

  var key = "newsdesk:" + form.getAttribute("data-autosave-key");
  var fields = ["title", "kicker", "subtitle", "summary", "body", "channel_id", "unit_id",
                "author_byline", "correspondents", "source", "tags"];

  function values() {
    var data = {};
    fields.forEach(function (name) {
      var field = form.elements[name];
      if (field) { data[name] = field.value; }
    });
    return data;
  }

  function plain(html) {
    var div = document.createElement("div");
    div.innerHTML = html || "";
    return (div.textContent || "").replace(/\s+/g, "");
  }

  function same(a, b) {
    return fields.every(function (name) {
      return name === "body" ? plain(a.body) === plain(b.body) : (a[name] || "") === (b[name] || "");
    });
  }

  var initial = values();
  var stored = null;
  try { stored = JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { stored = null; }

  if (stored && stored.data && !same(stored.data, initial)) {
    var note = document.getElementById("autosave-note");
    var when = new Date(stored.at);
    var shown;
    // In the site's time, as every other time of the backend.
    try {
      shown = when.toLocaleString("zh-CN", { timeZone: form.getAttribute("data-zone"), hour12: false });
    } catch (e) {
      shown = when.toLocaleString("zh-CN", { hour12: false });
    }
    note.textContent = "发现 " + shown + " 自动保存的未提交内容。";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.textContent = "恢复";
    restore.addEventListener("click", function () {
      fields.forEach(function (name) {
        var field = form.elements[name];
        if (!field || stored.data[name] === undefined) { return; }
        if (name === "body") {
          var editor = form.querySelector("trix-editor");
          if (editor && editor.editor) { editor.editor.loadHTML(stored.data.body); }
          field.value = stored.data.body;
        } else {
          field.value = stored.data[name];
        }
      });
      note.hidden = true;
    });
    var discard = document.createElement("button");
    discard.type = "button";
    discard.textContent = "丢弃";
    discard.addEventListener("click", function () {
      window.localStorage.removeItem(key);
      note.hidden = true;
    });
    note.appendChild(restore);
    note.appendChild(discard);
    note.hidden = false;
  } else if (stored) {
    window.localStorage.removeItem(key);
  }

  function save() {
    var data = values();
    if (same(data, initial)) { return; }
    try {
      window.localStorage.setItem(key, JSON.stringify({ at: Date.now(), data: data }));
    } catch (e) { /* storage full or disabled: nothing to do */ }
  }
  window.setInterval(save, 30000);
  form.addEventListener("submit", save);
  window.addEventListener("pagehide", save);

  // Author names from the records, offered for the last name being typed.
  var list = document.getElementById("author-names");
  var timer = null;
  function suggest(input) {
    var text = input.value;
    var parts = text.split(/[\s,，、]+/);
    var last = parts[parts.length - 1];
    var prefix = text.slice(0, text.length - last.length);
    if (!last) { return; }
    fetch("/admin/authors?q=" + encodeURIComponent(last), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (authors) {
        list.innerHTML = "";
        authors.forEach(function (author) {
          var option = document.createElement("option");
          option.value = prefix + author.name;
          option.label = author.unit ? author.name + "（" + author.unit + "）" : author.name;
          list.appendChild(option);
        });
      })
      .catch(function () { /* offline: no suggestions */ });
  }
  ["author_byline", "correspondents"].forEach(function (name) {
    var input = form.elements[name];
    if (!input) { return; }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { suggest(input); }, 250);
    });
  });
})();
