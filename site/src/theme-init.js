// Runs before first paint: loaded synchronously in <head>, not as a module (the CSP forbids inline scripts).
// Applies the saved theme, else the system's; theme.js owns the choice afterwards. Key: store.js KEYS.THEME.
// Then the accent colour from config.js (loaded just before), so a rebranded page never flashes the default one.
;(function () {
  const root = document.documentElement
  let saved = null
  try { saved = window.localStorage.getItem('chatbot.theme') } catch (e) {}
  const dark = saved === 'dark' || (saved !== 'light' && window.matchMedia('(prefers-color-scheme: dark)').matches)
  root.classList.toggle('dark', dark)

  // styles.css mixes every other accent colour from these three; contracts/branding.py makes the same choice of
  // text colour (white when it reaches WCAG AA's 4.5:1 on the accent, else slate-950) and refuses worse accents.
  const config = window.CHATBOT_CONFIG
  const accent = config && typeof config.accentColor === 'string' ? config.accentColor : ''
  if (!/^#[0-9a-f]{6}$/i.test(accent)) return
  const luminance = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const whiteText = 1.05 / (luminance(accent) + 0.05) >= 4.5
  root.style.setProperty('--brand-accent', accent)
  root.style.setProperty('--brand-on-accent', whiteText ? '#fff' : '#020618')
  root.style.setProperty('--brand-shade', whiteText ? '#000' : '#fff')
})()
