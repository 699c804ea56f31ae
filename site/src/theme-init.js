// Runs before first paint: loaded synchronously in <head>, not as a module (the CSP forbids inline scripts).
// Applies the saved theme, else the system's; theme.js owns the choice afterwards. Key: store.js KEYS.THEME.
;(function () {
  let saved = null
  try { saved = window.localStorage.getItem('chatbot.theme') } catch (e) {}
  const dark = saved === 'dark' || (saved !== 'light' && window.matchMedia('(prefers-color-scheme: dark)').matches)
  document.documentElement.classList.toggle('dark', dark)
})()
