// 听新闻: reads the story aloud with the browser's speech synthesis (zh-CN);
// stays hidden where the browser cannot speak.
(function () {
  "use strict";
  var box = document.getElementById("listen");
  if (!box || !("speechSynthesis" in window) || !window.SpeechSynthesisUtterance) { return; }
  var synth = window.speechSynthesis;
  var play = box.querySelector(".listen-play");
  var pause = box.querySelector(".listen-pause");
  var stop = box.querySelector(".listen-stop");
  // The title and the body as the page shows them, one line per block.
  function spokenText() {
    var parts = document.querySelectorAll(box.getAttribute("data-read"));
    return Array.prototype.map.call(parts, function (part) {
      return (part.innerText || part.textContent).trim();
    }).join("。\n");
  }
  function show(playing, paused) {
    play.hidden = playing && !paused;
    play.textContent = paused ? "继续" : "听新闻";
    pause.hidden = !playing || paused;
    stop.hidden = !playing;
    box.classList.toggle("speaking", playing && !paused);
  }
  play.addEventListener("click", function () {
    if (synth.paused) { synth.resume(); show(true, false); return; }
    synth.cancel();
    var utterance = new window.SpeechSynthesisUtterance(spokenText());
    utterance.lang = "zh-CN";
    var voice = synth.getVoices().filter(function (v) { return /^zh(-|_)CN/i.test(v.lang); })[0];
    if (voice) { utterance.voice = voice; }
    utterance.addEventListener("end", function () { show(false, false); });
    synth.speak(utterance);
    show(true, false);
  });
  pause.addEventListener("click", function () { synth.pause(); show(true, true); });
  stop.addEventListener("click", function () { synth.cancel(); show(false, false); });
  box.hidden = false;
})();
