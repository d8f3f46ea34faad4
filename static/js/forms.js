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

// The browser's own messages for a field it refuses are in the browser's
// language; every field says what is wrong in Chinese, whatever that is.
const invalidMessage = (field) => {
  const v = field.validity;
  if (v.valueMissing) {
    return field.type === 'checkbox' ? '请勾选此项' : (field.tagName === 'SELECT' ? '请选择一项' : '请填写此项');
  }
  if (v.typeMismatch) {
    return field.type === 'email' ? '请填写有效的电子邮箱地址' : '格式不正确';
  }
  if (v.tooShort) {
    return `请至少填写 ${field.minLength} 个字（现为 ${field.value.length} 个）`;
  }
  if (v.tooLong) {
    return `最多 ${field.maxLength} 个字`;
  }
  if (v.rangeUnderflow || v.rangeOverflow || v.stepMismatch) {
    return '数值不在允许的范围内';
  }
  if (v.patternMismatch) {
    return field.title || '格式不正确';
  }
  return '';
};
document.addEventListener('invalid', (event) => {
  const field = event.target;
  field.setCustomValidity('');
  if (!field.validity.valid) {
    field.setCustomValidity(invalidMessage(field));
  }
}, true);
document.addEventListener('input', (event) => {
  if (event.target.setCustomValidity) {
    event.target.setCustomValidity('');
  }
}, true);

document.addEventListener('change', (event) => {
  if (event.target.setCustomValidity) {
    event.target.setCustomValidity('');
  }
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
// A reader who cannot see the image switches to a question in words,
// which a screen reader reads out; the switch needs scripts.
function refreshCaptcha(form, focus) {
  const row = form.querySelector('.captcha-row');
  const question = row && row.dataset.kind === 'question';
  const address = question ? '/captcha/new?kind=question' : '/captcha/new';
  return fetch(address, { credentials: 'same-origin', cache: 'no-store' })
    .then((response) => response.json())
    .then((captcha) => {
      form.querySelector('input[name=captcha_id]').value = captcha.id;
      const image = form.querySelector('.captcha-image');
      const answer = form.querySelector('input[name=captcha_answer]');
      let text = form.querySelector('.captcha-question');
      if (question) {
        if (!text) {
          text = document.createElement('p');
          text.className = 'captcha-question';
          text.id = `${answer.id || 'captcha-answer'}-question`;
          text.setAttribute('aria-live', 'polite');
          image.after(text);
        }
        text.textContent = captcha.question;
        text.hidden = false;
        image.hidden = true;
        answer.setAttribute('aria-describedby', text.id);
        answer.setAttribute('inputmode', 'numeric');
      } else {
        image.src = captcha.image;
        image.hidden = false;
        if (text) {
          text.hidden = true;
          answer.removeAttribute('aria-describedby');
          answer.removeAttribute('inputmode');
        }
      }
      answer.value = '';
      if (focus) {
        answer.focus();
      }
    });
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('[data-captcha-refresh], [data-captcha-question]');
  const form = link && link.closest('form');
  if (!form) {
    return;
  }
  event.preventDefault();
  if (link.hasAttribute('data-captcha-question')) {
    const row = form.querySelector('.captcha-row');
    const question = row.dataset.kind !== 'question';
    row.dataset.kind = question ? 'question' : 'image';
    link.textContent = question ? '改用图片验证码' : '看不到图片？改用文字题';
    const refresh = form.querySelector('[data-captcha-refresh]');
    if (refresh) {
      refresh.textContent = question ? '换一题' : '看不清？换一张';
    }
  }
  refreshCaptcha(form, true).catch(() => { window.location.reload(); });
});

document.querySelectorAll('[data-captcha-question]').forEach((button) => {
  button.hidden = false;
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

// On a phone the backend's menu is one row that scrolls sideways: the
// page's own entry is brought into view, not left off-screen.
(function showActiveEntry() {
  const active = document.querySelector('.admin-nav a.active');
  const row = active && active.closest('ul');
  if (!row || row.scrollWidth <= row.clientWidth) {
    return;
  }
  const left = active.offsetLeft - (row.clientWidth - active.offsetWidth) / 2;
  row.scrollLeft = Math.max(0, left);
}());

// A list's 全选 box ticks or clears every row of the page.
document.querySelectorAll('[data-select-all]').forEach((all) => {
  const form = all.closest('form');
  const rows = () => form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
  all.hidden = false;
  all.addEventListener('change', () => {
    rows().forEach((row) => { row.checked = all.checked; });
  });
  form.addEventListener('change', (event) => {
    if (event.target !== all && event.target.name === all.dataset.selectAll) {
      const boxes = Array.from(rows());
      all.checked = boxes.length > 0 && boxes.every((row) => row.checked);
      all.indeterminate = !all.checked && boxes.some((row) => row.checked);
    }
  });
});
