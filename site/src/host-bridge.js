// @ts-check
// The page's side of embed.js: when a site in config.js's embedOrigins frames the page (/?embed=1&host=<origin>),
// tell it what happened (ready, a reply arrived, close requested) and take the one question it may ask.
// Nothing of the conversation leaves the frame: events carry a type, never user or bot text.

export const MESSAGE_VERSION = 1 // contracts/embedding.py MESSAGE_VERSION; embed.js speaks the same
const MAX_QUESTION_CHARS = 1024 // the composer's own limit
const CLOSE_ICON = ['M18 6 6 18', 'm6 6 12 12']

/**
 * @typedef {{ replyArrived: () => void }} HostBridge
 * @typedef {{ chatbot?: unknown, type?: unknown, question?: unknown }} HostMessage
 */

/** @type {HostBridge} */
const NOT_EMBEDDED = { replyArrived () {} }

/**
 * The origins config.js allows to embed the page (`embedOrigins`): a list of strings, else none.
 * @param {unknown} raw window.CHATBOT_CONFIG
 * @returns {string[]}
 */
export function embedOriginsOf (raw) {
  const origins = /** @type {{ embedOrigins?: unknown }} */ (raw ?? {}).embedOrigins
  return Array.isArray(origins) ? origins.filter((origin) => typeof origin === 'string') : []
}

/**
 * Talk to the host page when this page is framed by an allowed site; otherwise a bridge that does nothing.
 * @param {{
 *   window: Window,
 *   origins: string[],
 *   ask: (question: string) => void,
 *   opened: () => void
 * }} options `ask`: the host's initial question (taken once); `opened`: the host showed the chat
 * @returns {HostBridge}
 */
export function connectHost ({ window: win, origins, ask, opened }) {
  const params = new URLSearchParams(win.location.search)
  if (params.get('embed') !== '1' || win.parent === win) return NOT_EMBEDDED
  const host = params.get('host') ?? ''
  if (!origins.includes(host)) {
    // frame-ancestors already keeps other sites from framing the page; this keeps it from talking to them
    console.warn('[chatbot] %s is not an allowed embedding site (embedOrigins); not talking to it', host.slice(0, 100))
    return NOT_EMBEDDED
  }
  /** @param {string} type */
  const post = (type) => win.parent.postMessage({ chatbot: MESSAGE_VERSION, type }, host)
  let asked = false

  win.addEventListener('message', (event) => {
    if (event.source !== win.parent || event.origin !== host) return
    const message = /** @type {HostMessage} */ (event.data ?? {})
    if (message.chatbot !== MESSAGE_VERSION) return
    if (message.type === 'opened') opened()
    else if (message.type === 'ask' && !asked && typeof message.question === 'string') {
      asked = true
      const question = message.question.trim().slice(0, MAX_QUESTION_CHARS)
      if (question) ask(question)
    }
  })
  win.document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented) post('close')
  })
  addCloseButton(win.document, () => post('close'))
  post('ready')
  return { replyArrived: () => post('reply') }
}

/**
 * A "Close chat" button after the header's actions: on a phone the chat covers the whole host page.
 * @param {Document} doc
 * @param {() => void} close
 */
function addCloseButton (doc, close) {
  const actions = doc.getElementById('theme-toggle')?.parentElement
  if (!actions) return
  const button = doc.createElement('button')
  button.type = 'button'
  button.id = 'close-embed'
  button.className = 'btn-ghost'
  button.title = 'Close chat'
  button.setAttribute('aria-label', 'Close chat')
  const svg = doc.createElementNS('http://www.w3.org/2000/svg', 'svg')
  for (const [name, value] of Object.entries({
    viewBox: '0 0 24 24', class: 'size-5', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'aria-hidden': 'true'
  })) svg.setAttribute(name, value)
  for (const d of CLOSE_ICON) {
    const path = doc.createElementNS('http://www.w3.org/2000/svg', 'path')
    path.setAttribute('d', d)
    svg.append(path)
  }
  button.append(svg)
  button.addEventListener('click', close)
  actions.append(button)
}
