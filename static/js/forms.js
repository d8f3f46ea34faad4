// Forms of every page: a destructive action asks first (data-confirm on the
// button or the form), and a "select all" box ticks every box of its list
// (data-select-all names the boxes).
document.addEventListener('submit', (event) => {
  const button = event.submitter;
  const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener('change', (event) => {
  const all = event.target.closest('[data-select-all]');
  if (!all) {
    return;
  }
  const scope = all.form || all.closest('form') || document;
  const boxes = scope.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
  boxes.forEach((box) => {
    box.checked = all.checked;
  });
});

// A story just saved: the copies its form autosaved (under the story's
// key, and under the new-story key it was written in) are done with.
(function () {
  const done = document.getElementById('autosave-done');
  if (!done) {
    return;
  }
  done.dataset.keys.split(' ').forEach((key) => {
    try {
      window.localStorage.removeItem(`newsdesk:${key}`);
    } catch (e) { /* storage disabled: nothing kept */ }
  });
}());

// 换一张: a fresh captcha in place, keeping what the form holds.
document.addEventListener('click', (event) => {
  const link = event.target.closest('[data-captcha-refresh]');
  if (!link) {
    return;
  }
  const form = link.closest('form');
  if (!form) {
    return;
  }
  event.preventDefault();
  fetch('/captcha/new', { credentials: 'same-origin', cache: 'no-store' })
    .then((response) => response.json())
    .then((captcha) => {
      form.querySelector('input[name=captcha_id]').value = captcha.id;
      form.querySelector('.captcha-image').src = captcha.image;
      const answer = form.querySelector('input[name=captcha_answer]');
      answer.value = '';
      answer.focus();
    })
    .catch(() => { window.location.reload(); });
});
