// @ts-check
// Thumbs up / down under each bot answer, and an optional short reason after a thumbs-down. A vote is sent to
// POST {apiBasePath}/feedback with the answer's query-log keys (the session id and the user's turn timestamp: the row
// POST /store-query wrote), so it lands on that row. One vote per answer: a new one replaces it.
// Also here: the user's mood Lex reported for a turn (`sentimentOf`), which the row carries for staff and priority.
import { fetchWithRetry } from './http.js'

/**
 * @typedef {'up' | 'down'} Rating
 * @typedef {{ sessionId: string, timestamp: number }} RowKeys the query-log row an answer is stored in
 * @typedef {{ rated?: RowKeys, rating?: Rating }} Rateable a bot turn that can be rated, and its vote so far
 * @typedef {{ rate: (keys: RowKeys, rating: Rating, reason?: string) => Promise<void> }} FeedbackSender
 */

export const MAX_REASON_CHARS = 200 // the API's limit (contracts/query_log.py MAX_RATING_REASON_CHARS)
const LABELS = /** @type {Record<Rating, string>} */ ({ up: 'Helpful', down: 'Not helpful' })
// A drawn thumb (thumbs-down is it turned over): an emoji depends on the reader's fonts, a path does not.
const THUMB_PATHS = [
  'M7 10v12',
  'M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z'
]
const SVG_NS = 'http://www.w3.org/2000/svg'
const THANKS = 'Thanks for your feedback.'
const NOT_SAVED = 'Your rating was not saved. Please try again.'
const NOT_FOUND_RETRY_MS = 1500 // a vote may overtake its answer's row on the way to the log: wait, try once more
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g // eslint-disable-line no-control-regex
const SENTIMENTS = ['POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED']
let formCount = 0 // unique ids for the reason inputs' labels

/** Posts votes; a 404 (the row not stored yet) flushes the pending rows and tries once more. */
export class FeedbackApi {
  /**
   * @param {{ basePath: string, flush: () => Promise<void>, fetch?: typeof fetch, wait?: (ms: number) => Promise<void> }} options
   *   `flush`: sends the query-log rows still waiting (SupportApi.flushQueries)
   */
  constructor ({ basePath, flush, fetch = globalThis.fetch.bind(globalThis), wait = _delay }) {
    if (typeof basePath !== 'string') throw new TypeError('basePath is required')
    this.url = `${basePath.replace(/\/+$/, '')}/feedback`
    this.flush = flush
    this.fetch = fetch
    this.wait = wait
  }

  /**
   * @param {RowKeys} keys
   * @param {Rating} rating
   * @param {string} [reason] only with 'down'
   */
  async rate (keys, rating, reason) {
    const body = JSON.stringify({ ...keys, rating, ...(reason ? { reason } : {}) })
    const post = () => this.fetch(this.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    await this.flush()
    let response = await fetchWithRetry(post)
    if (response.status === 404) {
      await this.wait(NOT_FOUND_RETRY_MS)
      await this.flush()
      response = await fetchWithRetry(post)
    }
    if (!response.ok) throw new Error(`feedback refused (HTTP ${response.status})`)
  }
}

/**
 * The rating controls under an answer: two toggle buttons, a status line, and (after a thumbs-down) a small form for
 * an optional reason. `bindFeedback` makes them work.
 * @param {Document} doc
 * @param {RowKeys} keys
 * @param {Rating} [rating] the vote already given
 * @returns {HTMLElement}
 */
export function ratingControls (doc, keys, rating) {
  const box = doc.createElement('div')
  box.className = 'mt-2 flex flex-wrap items-center gap-2'
  box.setAttribute('role', 'group')
  box.setAttribute('aria-label', 'Rate this answer')
  box.dataset.ratingSession = keys.sessionId
  box.dataset.ratingTimestamp = String(keys.timestamp)
  for (const value of /** @type {Rating[]} */ (['up', 'down'])) {
    const button = doc.createElement('button')
    button.type = 'button'
    button.className = 'inline-flex items-center rounded-full border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-accent-strong aria-pressed:border-accent aria-pressed:bg-accent-soft dark:border-slate-600 dark:hover:bg-slate-700'
    button.dataset.rate = value
    button.setAttribute('aria-label', LABELS[value])
    button.setAttribute('aria-pressed', String(rating === value))
    button.append(thumb(doc, value))
    box.append(button)
  }
  const status = doc.createElement('span')
  status.className = 'text-xs text-slate-600 dark:text-slate-400'
  status.setAttribute('role', 'status')
  status.dataset.ratingStatus = ''
  box.append(status, _reasonForm(doc))
  return box
}

/**
 * The thumb icon of a vote, hidden from assistive technology (the button's label names it).
 * @param {Document} doc
 * @param {Rating} value
 */
function thumb (doc, value) {
  const svg = doc.createElementNS(SVG_NS, 'svg')
  for (const [name, attribute] of Object.entries({
    viewBox: '0 0 24 24',
    class: value === 'down' ? 'size-4 rotate-180' : 'size-4',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': '2',
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    'aria-hidden': 'true'
  })) svg.setAttribute(name, attribute)
  for (const d of THUMB_PATHS) {
    const path = doc.createElementNS(SVG_NS, 'path')
    path.setAttribute('d', d)
    svg.append(path)
  }
  return svg
}

/**
 * Hear votes and reasons anywhere under `root` (event delegation: answers added later work too). `onRated` is told
 * each vote the API accepted, to remember it with the conversation.
 * @param {HTMLElement} root
 * @param {FeedbackSender} sender
 * @param {(keys: RowKeys, rating: Rating) => void} onRated
 */
export function bindFeedback (root, sender, onRated) {
  root.addEventListener('click', (event) => {
    const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest?.('button[data-rate]'))
    const box = button?.closest('[data-rating-session]')
    if (!button || !(box instanceof HTMLElement)) return
    const rating = /** @type {Rating} */ (button.dataset.rate)
    if (button.getAttribute('aria-pressed') === 'true') return // the same vote again changes nothing
    _vote(box, sender, rating, undefined, onRated)
  })
  root.addEventListener('submit', (event) => {
    const form = /** @type {HTMLElement} */ (event.target)
    const box = form.closest('[data-rating-session]')
    if (!form.matches('form[data-rating-reason]') || !(box instanceof HTMLElement)) return
    event.preventDefault()
    const input = /** @type {HTMLInputElement} */ (form.querySelector('input'))
    const reason = input.value.replace(CONTROL_CHARACTERS, ' ').trim() // one line, as the API accepts it
    if (reason) _vote(box, sender, 'down', reason, onRated)
    else form.hidden = true // nothing to add: the thumbs-down stands
  })
}

/**
 * The sentiment Lex found in the user's text (when the bot alias analyses sentiment), or null.
 * @param {{ interpretations?: object[] }} response Lex's RecognizeText answer
 * @returns {string | null}
 */
export function sentimentOf (response) {
  const said = (response.interpretations ?? []).map((i) => /** @type {{ sentimentResponse?: { sentiment?: unknown } }} */ (i))
  const found = said.find((i) => i.sentimentResponse?.sentiment)?.sentimentResponse?.sentiment
  return typeof found === 'string' && SENTIMENTS.includes(found) ? found : null
}

/**
 * @param {HTMLElement} box
 * @param {FeedbackSender} sender
 * @param {Rating} rating
 * @param {string | undefined} reason
 * @param {(keys: RowKeys, rating: Rating) => void} onRated
 */
async function _vote (box, sender, rating, reason, onRated) {
  const keys = { sessionId: String(box.dataset.ratingSession), timestamp: Number(box.dataset.ratingTimestamp) }
  const buttons = /** @type {HTMLButtonElement[]} */ ([...box.querySelectorAll('button[data-rate]')])
  const before = buttons.map((b) => b.getAttribute('aria-pressed'))
  const status = /** @type {HTMLElement} */ (box.querySelector('[data-rating-status]'))
  const form = /** @type {HTMLFormElement} */ (box.querySelector('form[data-rating-reason]'))
  for (const button of buttons) button.setAttribute('aria-pressed', String(button.dataset.rate === rating))
  status.textContent = ''
  try {
    await sender.rate(keys, rating, reason)
  } catch (error) {
    console.warn('[chatbot] feedback not saved', error)
    buttons.forEach((button, i) => button.setAttribute('aria-pressed', before[i] ?? 'false'))
    status.textContent = NOT_SAVED
    return
  }
  onRated(keys, rating)
  status.textContent = THANKS
  const askWhy = rating === 'down' && reason === undefined
  form.hidden = !askWhy
  if (askWhy) /** @type {HTMLInputElement} */ (form.querySelector('input')).focus()
}

/**
 * The optional reason after a thumbs-down: a labelled one-line input and a Send button, hidden until asked.
 * @param {Document} doc
 */
function _reasonForm (doc) {
  const form = doc.createElement('form')
  form.hidden = true
  form.className = 'flex w-full flex-wrap items-center gap-2'
  form.dataset.ratingReason = ''
  const id = `rating-reason-${++formCount}`
  const label = doc.createElement('label')
  label.htmlFor = id
  label.className = 'text-xs text-slate-700 dark:text-slate-300'
  label.textContent = 'What was missing? (optional)'
  const input = doc.createElement('input')
  input.id = id
  input.type = 'text'
  input.maxLength = MAX_REASON_CHARS
  input.className = 'min-w-0 flex-1 rounded border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100'
  const send = doc.createElement('button')
  send.type = 'submit'
  send.className = 'rounded bg-accent px-2 py-1 text-sm text-on-accent hover:bg-accent-hover'
  send.textContent = 'Send'
  form.append(label, input, send)
  return form
}

/** @param {number} ms */
function _delay (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
