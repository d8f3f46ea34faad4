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

// The captcha of any form: 换一张 fetches a fresh one in place, keeping
// what the form holds; a captcha lasts five minutes, so one with less than
// three left is renewed before it is typed (the page stood open a while,
// or came from the browser's cache). Without scripts the link reloads.
function refreshCaptcha(form, focus) {
  return fetch('/captcha/new', { credentials: 'same-origin', cache: 'no-store' })
    .then((response) => response.json())
    .then((captcha) => {
      form.querySelector('input[name=captcha_id]').value = captcha.id;
      form.querySelector('.captcha-image').src = captcha.image;
      const answer = form.querySelector('input[name=captcha_answer]');
      answer.value = '';
      if (focus) {
        answer.focus();
      }
    });
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('[data-captcha-refresh]');
  const form = link && link.closest('form');
  if (!form) {
    return;
  }
  event.preventDefault();
  refreshCaptcha(form, true).catch(() => { window.location.reload(); });
});

document.querySelectorAll('form').forEach((form) => {
  const id = form.querySelector('input[name=captcha_id]');
  if (!id || !form.querySelector('.captcha-image')) {
    return;
  }
  // The id starts with the captcha's expiry (seconds since 1970).
  const renewIfStale = () => {
    const left = parseInt(id.value.split('-')[0], 10) * 1000 - Date.now();
    if (!(left > 180000)) {
      refreshCaptcha(form, false).catch(() => {});
    }
  };
  form.addEventListener('focusin', renewIfStale);
  window.addEventListener('pageshow', renewIfStale);
});
