// The dashboard's one script (issue 15): copy buttons. Served as a file because the pages'
// Content-Security-Policy allows no inline script.
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null;
  if (!button) return;
  const input = document.getElementById(button.getAttribute('data-copy'));
  if (!input) return;
  const done = () => { button.textContent = 'Copied'; };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => { if (document.execCommand('copy')) done(); });
  } else if (document.execCommand('copy')) {
    done();
  }
});
