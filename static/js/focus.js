// 焦点图: the home page's lead photos. Without scripts the slides scroll
// sideways (a swipe on a phone, the links by keyboard); with scripts they
// turn every six seconds, stop while the pointer or focus is on them, on
// 暂停 and for readers who ask for reduced motion, and the buttons and
// dots move between them.
(function focus() {
  const box = document.querySelector('.focus');
  const controls = box && box.querySelector('.focus-controls');
  if (!controls) {
    return;
  }
  const track = box.querySelector('.focus-track');
  const slides = Array.from(box.querySelectorAll('.focus-slide'));
  const dots = Array.from(box.querySelectorAll('.focus-dots button'));
  const pause = box.querySelector('.focus-pause');
  let current = 0;
  let paused = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  let hovering = false;
  const show = (index) => {
    current = (index + slides.length) % slides.length;
    track.scrollTo({ left: slides[current].offsetLeft - track.offsetLeft, behavior: 'smooth' });
    dots.forEach((dot, i) => {
      if (i === current) { dot.setAttribute('aria-current', 'true'); } else { dot.removeAttribute('aria-current'); }
    });
  };
  controls.hidden = false;
  box.querySelector('.focus-prev').addEventListener('click', () => show(current - 1));
  box.querySelector('.focus-next').addEventListener('click', () => show(current + 1));
  dots.forEach((dot, i) => dot.addEventListener('click', () => show(i)));
  const showPaused = () => {
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? '播放' : '暂停';
  };
  pause.addEventListener('click', () => { paused = !paused; showPaused(); });
  showPaused();
  box.addEventListener('mouseenter', () => { hovering = true; });
  box.addEventListener('mouseleave', () => { hovering = false; });
  box.addEventListener('focusin', () => { hovering = true; });
  box.addEventListener('focusout', () => { hovering = false; });
  track.addEventListener('scroll', () => {
    const width = track.clientWidth || 1;
    const index = Math.round(track.scrollLeft / width);
    if (index !== current && index >= 0 && index < slides.length) {
      current = index;
      dots.forEach((dot, i) => {
        if (i === current) { dot.setAttribute('aria-current', 'true'); } else { dot.removeAttribute('aria-current'); }
      });
    }
  }, { passive: true });
  window.setInterval(() => {
    if (!paused && !hovering && !document.hidden) {
      show(current + 1);
    }
  }, 6000);
}());
