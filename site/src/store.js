// @ts-check
// Browser storage: what survives a reload of the tab (sessionStorage) and what survives the browser (localStorage).
// Every read tolerates missing, corrupt or unavailable storage (private modes throw): the chat still works.

/**
 * @typedef {{ text: string, value: string }} ReplyButton
 * @typedef {{ subtitle?: string, buttons: ReplyButton[] }} ReplyCard quick replies under a bot message
 * @typedef {{
 *   role: 'user' | 'bot', text: string, timestamp: number,
 *   value?: string, card?: ReplyCard, sources?: string[],
 *   rated?: import('./feedback.js').RowKeys, rating?: import('./feedback.js').Rating
 * }} Turn `value`: what Lex was sent when it differs from the text shown (a quick reply's value); `sources`: the
 *   knowledge-base documents a bot answer came from; `rated`: the query-log row a bot answer's vote goes to (its
 *   last message only), `rating`: the vote given
 * @typedef {{ role: 'ticket', ticketId: string, email?: string, timestamp: number }} TicketNote `email`: where the team replies
 * @typedef {Turn | TicketNote} Entry
 * @typedef {{ fingerprint: string, key: string }} PendingEscalation a submission not yet confirmed, and its key
 * @typedef {{
 *   id: string,
 *   entries: Entry[],
 *   attributes: Record<string, string>,
 *   escalationOffered: boolean,
 *   queued: Turn[],
 *   escalation?: PendingEscalation
 * }} ChatSession `queued`: typed ahead, not yet sent to Lex; `escalationOffered`: the form is showing
 */

export const KEYS = Object.freeze({
  THEME: 'chatbot.theme', // also read by theme-init.js before first paint
  IDENTITY_ID: 'chatbot.identityId',
  PENDING_QUERIES: 'chatbot.pendingQueries',
  SESSION: 'chatbot.session'
})

/**
 * The browser's storage, or a stand-in that lasts as long as the page when the browser forbids storage.
 * @param {'localStorage' | 'sessionStorage'} name
 * @returns {Storage}
 */
export function storageOf (name) {
  try {
    const storage = window[name]
    storage.getItem(KEYS.SESSION) // throws when storage is forbidden
    return storage
  } catch {
    return memoryStorage()
  }
}

/**
 * @template T
 * @param {Storage} storage
 * @param {string} key
 * @param {T} fallback
 * @returns {T}
 */
export function readJson (storage, key, fallback) {
  try {
    const raw = storage.getItem(key)
    return raw == null ? fallback : JSON.parse(raw)
  } catch {
    return fallback
  }
}

/**
 * @param {Storage} storage
 * @param {string} key
 * @param {unknown} value
 * @returns {boolean} whether the value was stored
 */
export function writeJson (storage, key, value) {
  try {
    storage.setItem(key, JSON.stringify(value))
    return true
  } catch (error) {
    console.warn('[chatbot] could not store %s', key, error)
    return false
  }
}

/** @returns {ChatSession} a fresh conversation with a new Lex session id */
export function newSession () {
  return { id: crypto.randomUUID(), entries: [], attributes: {}, escalationOffered: false, queued: [] }
}

/**
 * The conversation of this tab: kept across reloads, not shared with other tabs.
 * @param {Storage} storage sessionStorage
 * @returns {ChatSession}
 */
export function loadSession (storage) {
  const saved = readJson(storage, KEYS.SESSION, /** @type {unknown} */ (null))
  if (isSession(saved)) return { ...saved, queued: Array.isArray(saved.queued) ? saved.queued : [] } // older tabs: none
  const session = newSession()
  saveSession(storage, session)
  return session
}

/**
 * @param {Storage} storage sessionStorage
 * @param {ChatSession} session
 */
export function saveSession (storage, session) {
  writeJson(storage, KEYS.SESSION, session)
}

/**
 * @param {unknown} value
 * @returns {value is Omit<ChatSession, 'queued'> & { queued?: unknown }}
 */
function isSession (value) {
  if (typeof value !== 'object' || value === null) return false
  const session = /** @type {Record<string, unknown>} */ (value)
  return typeof session.id === 'string' && session.id !== '' &&
    Array.isArray(session.entries) &&
    typeof session.attributes === 'object' && session.attributes !== null &&
    typeof session.escalationOffered === 'boolean'
}

/** @returns {Storage} */
function memoryStorage () {
  const items = new Map()
  return /** @type {Storage} */ (/** @type {unknown} */ ({
    getItem: (/** @type {string} */ key) => items.get(key) ?? null,
    setItem: (/** @type {string} */ key, /** @type {string} */ value) => { items.set(key, String(value)) },
    removeItem: (/** @type {string} */ key) => { items.delete(key) }
  }))
}
