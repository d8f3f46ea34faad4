// The article page's tools: 字号 大/中/小 (kept for the next story),
// 打印, and the Weibo link with the address the reader is on. Without
// scripts the page reads at the middle size and the WeChat code still
// opens.
(function articleTools() {
  const body = document.querySelector('.article-body');
  const sizes = document.querySelector('.article-tools .font-size');
  if (body && sizes) {
    const choose = (size) => {
      body.classList.remove('size-large', 'size-medium', 'size-small');
      body.classList.add(`size-${size}`);
      sizes.querySelectorAll('[data-font-size]').forEach((button) => {
        button.setAttribute('aria-pressed', String(button.dataset.fontSize === size));
      });
    };
    let kept = 'medium';
    try {
      kept = window.localStorage.getItem('newsdesk:font-size') || 'medium';
    } catch (e) { /* storage disabled */ }
    if (['large', 'medium', 'small'].includes(kept)) {
      choose(kept);
    }
    sizes.addEventListener('click', (event) => {
      const button = event.target.closest('[data-font-size]');
      if (!button) {
        return;
      }
      choose(button.dataset.fontSize);
      try {
        window.localStorage.setItem('newsdesk:font-size', button.dataset.fontSize);
      } catch (e) { /* storage disabled */ }
    });
    sizes.hidden = false;
  }
  const print = document.querySelector('[data-print]');
  if (print) {
    print.addEventListener('click', () => window.print());
    print.hidden = false;
  }
  const weibo = document.querySelector('[data-share-weibo]');
  if (weibo) {
    const title = document.querySelector('.article-head .title');
    const target = new URL('https://service.weibo.com/share/share.php');
    target.searchParams.set('url', window.location.href.split('#')[0]);
    target.searchParams.set('title', title ? title.textContent.trim() : document.title);
    weibo.href = target.toString();
  }
}());
