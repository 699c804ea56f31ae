// @ts-check
// The chat on another site: `<script src="https://<chat site>/embed.js" async></script>` adds a launcher button that
// opens the chat page in an iframe. Options on the script tag: data-position="bottom-left" (default bottom-right),
// data-open (open on load), data-question="..." (asked when the chat starts, answered even while it is closed),
// data-accent="#rrggbb" (the launcher's colour: the stack's accentColor, so it matches the page).
// The page talks back through postMessage: only messages from the chat's origin and its frame are read, and they
// carry events (ready, reply, close), never the conversation. Plain DOM, inline styles (no stylesheet for a strict
// CSP to refuse), inside a shadow root so the site's CSS cannot reach in. Budget: 3 KB gzipped (build.mjs).
(() => {
  const VERSION = 1 // contracts/embedding.py MESSAGE_VERSION; host-bridge.js speaks the same
  const DEFAULT_ACCENT = '#4f39f6' // the page's own accent (styles.css --brand-accent) when the tag names none
  const WHITE_TEXT_MAX_LUMINANCE = 0.1833 // white on the accent reaches WCAG's 4.5:1 (contracts/branding.py)
  const PHONE = '(max-width: 639px)' // narrower than Tailwind's sm: the chat takes the whole screen
  const CHAT_ICON = 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z'
  const CLOSE_ICON = 'M18 6 6 18M6 6l12 12'
  const SVG = 'http://www.w3.org/2000/svg'

  const script = /** @type {HTMLScriptElement | null} */ (document.currentScript)
  if (!script || document.querySelector('[data-chatbot-embed]')) return // no src to go by, or already on the page
  const origin = new URL(script.src).origin
  const data = script.dataset
  const ACCENT = /^#[0-9a-f]{6}$/i.test(data.accent ?? '') ? String(data.accent) : DEFAULT_ACCENT
  const INK = luminance(ACCENT) <= WHITE_TEXT_MAX_LUMINANCE ? '#fff' : '#020617' // the icon on the accent
  const side = data.position === 'bottom-left' ? 'left' : 'right'
  const question = (data.question ?? '').trim()
  const phone = matchMedia(PHONE)
  let open = false
  let unread = 0
  let asked = false

  const root = element('div', { position: 'fixed', bottom: '20px', [side]: '20px', zIndex: '2147483647' })
  root.dataset.chatbotEmbed = ''
  const shadow = root.attachShadow({ mode: 'open' })
  const panel = element('div', {
    display: 'none',
    position: 'fixed',
    bottom: '88px',
    [side]: '20px',
    width: '400px',
    maxWidth: 'calc(100vw - 40px)',
    height: 'min(640px, calc(100vh - 108px))',
    borderRadius: '12px',
    overflow: 'hidden',
    boxShadow: '0 12px 40px rgba(15, 23, 42, 0.3)',
    background: '#fff'
  })
  panel.id = 'chat'
  const frame = /** @type {HTMLIFrameElement} */ (element('iframe', { border: '0', width: '100%', height: '100%' }))
  frame.title = 'Support chat'
  panel.append(frame)

  const launcher = element('button', {
    width: '56px',
    height: '56px',
    borderRadius: '50%',
    border: '0',
    padding: '0',
    cursor: 'pointer',
    background: ACCENT,
    color: INK,
    boxShadow: '0 4px 14px rgba(15, 23, 42, 0.35)',
    display: 'grid',
    placeItems: 'center',
    position: 'relative',
    outlineOffset: '3px'
  })
  launcher.setAttribute('aria-controls', 'chat')
  const icon = document.createElementNS(SVG, 'svg')
  attributes(icon, { viewBox: '0 0 24 24', width: '26', height: '26', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true' })
  const path = document.createElementNS(SVG, 'path')
  icon.append(path)
  const badge = element('span', {
    display: 'none',
    position: 'absolute',
    top: '-4px',
    [side === 'left' ? 'left' : 'right']: '-4px',
    minWidth: '20px',
    height: '20px',
    padding: '0 5px',
    boxSizing: 'border-box',
    borderRadius: '10px',
    background: '#b91c1c',
    color: '#fff',
    font: '600 12px/20px system-ui, sans-serif',
    textAlign: 'center'
  })
  badge.setAttribute('aria-hidden', 'true')
  launcher.append(icon, badge)
  // A focus ring of our own, set here: the site's CSS cannot reach into the shadow root, nor take it away.
  launcher.addEventListener('focus', () => { launcher.style.outline = launcher.matches(':focus-visible') ? `3px solid ${ACCENT}` : 'none' })
  launcher.addEventListener('blur', () => { launcher.style.outline = 'none' })
  launcher.addEventListener('click', () => show(!open))
  shadow.append(panel, launcher)
  root.addEventListener('keydown', (event) => { if (event.key === 'Escape' && open) show(false) })
  phone.addEventListener('change', layout)

  addEventListener('message', (event) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return
    const message = event.data ?? {}
    if (message.chatbot !== VERSION) return
    if (message.type === 'ready') {
      if (question && !asked) post({ type: 'ask', question })
      asked = true
      if (open) post({ type: 'opened' })
    } else if (message.type === 'reply' && !open) {
      unread++
      render()
    } else if (message.type === 'close' && open) show(false)
  })

  render()
  if (document.body) document.body.append(root)
  else addEventListener('DOMContentLoaded', () => document.body.append(root)) // a tag in <head> without async
  if (question) load() // asked now, so its answer is waiting (and badged) when the user opens the chat
  if (data.open !== undefined && data.open !== 'false') show(true, false) // open, but the site keeps its focus

  /**
   * @param {boolean} next open or closed
   * @param {boolean} [focus] move focus into the chat (open) or back to the launcher (closed)
   */
  function show (next, focus = true) {
    open = next
    if (open) {
      unread = 0
      load()
      post({ type: 'opened' })
    }
    render()
    if (focus) (open ? frame : launcher).focus()
  }

  function load () {
    if (!frame.src) frame.src = `${origin}/?embed=1&host=${encodeURIComponent(location.origin)}`
  }

  /** @param {{ type: string, question?: string }} message */
  function post (message) {
    frame.contentWindow?.postMessage({ chatbot: VERSION, ...message }, origin)
  }

  function render () {
    panel.style.display = open ? 'block' : 'none'
    launcher.setAttribute('aria-expanded', String(open))
    const label = open ? 'Close support chat' : 'Open support chat'
    launcher.setAttribute('aria-label', unread ? `${label}, ${unread} new ${unread === 1 ? 'reply' : 'replies'}` : label)
    path.setAttribute('d', open ? CLOSE_ICON : CHAT_ICON)
    badge.textContent = unread > 9 ? '9+' : String(unread)
    badge.style.display = unread ? 'block' : 'none'
    layout()
  }

  /** On a phone the open chat takes the whole screen (its own close button closes it); elsewhere a corner. */
  function layout () {
    const full = phone.matches
    Object.assign(panel.style, full
      ? { bottom: '0', top: '0', left: '0', right: '0', width: '100%', height: '100%', maxWidth: 'none', borderRadius: '0' }
      : { bottom: '88px', top: '', left: side === 'left' ? '20px' : '', right: side === 'right' ? '20px' : '', width: '400px', height: 'min(640px, calc(100vh - 108px))', maxWidth: 'calc(100vw - 40px)', borderRadius: '12px' })
    launcher.style.display = full && open ? 'none' : 'grid'
  }

  /**
   * @param {string} tag
   * @param {Record<string, string>} style
   * @returns {HTMLElement}
   */
  function element (tag, style) {
    const made = document.createElement(tag)
    Object.assign(made.style, style)
    return made
  }

  /**
   * WCAG 2.x relative luminance of a #rrggbb colour (as contracts/branding.py computes it).
   * @param {string} hex
   */
  function luminance (hex) {
    const [r, g, b] = [1, 3, 5].map((at) => {
      const c = parseInt(hex.slice(at, at + 2), 16) / 255
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }

  /**
   * @param {Element} target
   * @param {Record<string, string>} values
   */
  function attributes (target, values) {
    for (const [name, value] of Object.entries(values)) target.setAttribute(name, value)
  }
})()
