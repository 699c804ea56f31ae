// @ts-check
// Composition root: reads config.js, builds the clients and the view, and wires the conversation together.
import { SupportApi } from './api.js'
import { ServiceError } from './http.js'
import { LexClient, messageTexts, understanding } from './lex-client.js'
import { loadSession, newSession, saveSession, storageOf } from './store.js'
import { chooseTheme, currentTheme, followSystemTheme } from './theme.js'
import { View } from './view.js'

/**
 * @typedef {import('./lex-client.js').ChatbotConfig} ChatbotConfig
 * @typedef {import('./store.js').Turn} Turn
 * @typedef {import('./view.js').Contact} Contact
 */

const REQUIRED_TEXT_KEYS = /** @type {const} */ (['region', 'identityPoolId', 'botId', 'botAliasId', 'localeId', 'apiBasePath'])
const REQUIRED_URL_KEYS = /** @type {const} */ (['lexEndpoint', 'cognitoEndpoint'])

/**
 * Check `window.CHATBOT_CONFIG` (set by config.js, generated per deployment).
 * @param {unknown} raw
 * @returns {ChatbotConfig}
 */
export function readConfig (raw) {
  if (typeof raw !== 'object' || raw === null) {
    throw new TypeError('The chat is not configured: config.js is missing or does not set window.CHATBOT_CONFIG.')
  }
  const config = /** @type {Record<string, unknown>} */ (raw)
  const problems = []
  for (const key of REQUIRED_TEXT_KEYS) {
    if (typeof config[key] !== 'string' || config[key] === '') problems.push(`${key} (a non-empty string)`)
  }
  for (const key of REQUIRED_URL_KEYS) {
    if (!isHttpUrl(config[key])) problems.push(`${key} (an http or https URL)`)
  }
  const suggestions = config.suggestions ?? []
  if (!Array.isArray(suggestions) || !suggestions.every((s) => typeof s === 'string')) {
    problems.push('suggestions (a list of questions)')
  }
  if (problems.length > 0) {
    throw new TypeError(`The chat is not configured correctly: config.js needs ${problems.join(', ')}.`)
  }
  return /** @type {ChatbotConfig} */ ({ ...config, suggestions })
}

function start () {
  const view = new View(document)
  const root = document.documentElement
  const local = storageOf('localStorage')
  const tab = storageOf('sessionStorage')

  view.renderTheme(currentTheme(root))
  view.bindThemeToggle(() => {
    const next = currentTheme(root) === 'dark' ? 'light' : 'dark'
    chooseTheme(root, local, next)
    view.renderTheme(next)
  })
  followSystemTheme(root, local, (theme) => view.renderTheme(theme))

  /** @type {ChatbotConfig} */
  let config
  try {
    config = readConfig(window.CHATBOT_CONFIG)
  } catch (error) {
    view.renderConfigError(error instanceof Error ? error.message : String(error))
    return
  }

  const lex = new LexClient({ config, storage: local })
  const api = new SupportApi({ basePath: config.apiBasePath, storage: local })
  let session = loadSession(tab)
  let inFlight = false
  /** @type {Turn | null} */
  let failedTurn = null

  /** @param {Turn} turn the user's turn, already shown */
  async function converse (turn) {
    const sessionId = session.id
    inFlight = true
    view.clearFailure()
    view.renderBusy(true)
    try {
      const response = await lex.recognizeText(sessionId, turn.text, session.attributes)
      if (session.id === sessionId) showReply(turn, response)
    } catch (error) {
      console.error('[chatbot] Lex request failed', error)
      if (session.id !== sessionId) return
      failedTurn = turn
      if (error instanceof ServiceError) view.renderFailure(error.kind, error.status)
      else view.renderFailure('service')
    } finally {
      inFlight = false
      view.renderBusy(false)
    }
  }

  /**
   * @param {Turn} turn
   * @param {import('./lex-client.js').LexResponse} response
   */
  function showReply (turn, response) {
    const { intentName, confidence } = understanding(response)
    console.info('[chatbot] intent=%s confidence=%s', intentName ?? 'n/a', confidence ?? 'n/a')
    const wasOffered = session.attributes.escalationOffered === 'true'
    session.attributes = stringValues(response.sessionState?.sessionAttributes)
    const offered = session.attributes.escalationOffered === 'true'
    const texts = messageTexts(response)
    for (const text of texts) {
      /** @type {Turn} */
      const reply = { role: 'bot', text, timestamp: Date.now() }
      session.entries.push(reply)
      view.renderEntry(reply)
    }
    // Lex echoes session attributes: the form appears when the bot makes the offer, and goes if it withdraws it.
    if (offered && !wasOffered) {
      session.escalationOffered = true
      view.renderEscalationForm()
    } else if (!offered && session.escalationOffered) {
      session.escalationOffered = false
      view.removeEscalationForm()
    }
    saveSession(tab, session)
    api.logQuery({
      sessionId: session.id,
      timestamp: turn.timestamp,
      userQuery: turn.text,
      botResponse: texts.join('\n'),
      confidenceScore: confidence,
      intentName
    })
  }

  /** @param {string} text */
  function send (text) {
    if (inFlight) return
    /** @type {Turn} */
    const turn = { role: 'user', text, timestamp: Date.now() }
    failedTurn = null
    session.entries.push(turn)
    saveSession(tab, session)
    view.renderEntry(turn)
    view.clearInput()
    converse(turn)
  }

  /** @param {Contact} contact */
  async function escalate (contact) {
    const sessionId = session.id
    const history = session.entries.flatMap((e) => e.role === 'ticket' ? [] : [{ role: e.role, text: e.text, timestamp: e.timestamp }])
    const lastUserTurn = history.findLast((turn) => turn.role === 'user')
    view.renderEscalationBusy(true)
    try {
      const ticket = await api.escalate({
        sessionId,
        userQuery: lastUserTurn?.text ?? '',
        userEmail: contact.userEmail,
        userName: contact.userName,
        conversationHistory: history
      })
      if (session.id !== sessionId) return
      const note = /** @type {const} */ ({ role: 'ticket', ticketId: ticket.ticketId, timestamp: Date.now() })
      session.entries.push(note)
      session.escalationOffered = false
      saveSession(tab, session)
      view.removeEscalationForm()
      view.renderEntry(note)
    } catch (error) {
      console.error('[chatbot] escalation failed', error)
      const errors = error instanceof ServiceError && error.kind === 'rejected' ? fieldErrors(error.body) : []
      view.renderEscalationErrors(errors.length > 0
        ? errors
        : [{ field: 'other', reason: 'Your request did not reach the support team. Please try again in a moment.' }])
    } finally {
      view.renderEscalationBusy(false)
    }
  }

  function startOver () {
    const previous = session.id
    session = newSession()
    saveSession(tab, session)
    failedTurn = null
    view.clearFailure()
    view.renderConversation({ entries: [], suggestions: config.suggestions, escalationOffered: false })
    view.focusInput()
    lex.deleteSession(previous).catch((error) => console.warn('[chatbot] could not delete the Lex session', error))
  }

  view.bindSend(send)
  view.bindSuggestion(send)
  view.bindRetry(() => { if (failedTurn && !inFlight) converse(failedTurn) })
  view.bindEscalate(escalate)
  view.bindNewConversation(startOver)
  view.renderConversation({ entries: session.entries, suggestions: config.suggestions, escalationOffered: session.escalationOffered })
  window.addEventListener('online', () => api.flushQueries())
  api.flushQueries() // rows a previous visit could not deliver
}

/**
 * @param {unknown} value
 * @returns {boolean}
 */
function isHttpUrl (value) {
  if (typeof value !== 'string') return false
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol)
  } catch {
    return false
  }
}

/**
 * Session attributes are strings in Lex; anything else is dropped rather than sent back.
 * @param {unknown} attributes
 * @returns {Record<string, string>}
 */
function stringValues (attributes) {
  if (typeof attributes !== 'object' || attributes === null) return {}
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => typeof value === 'string'))
}

/**
 * `errors: [{field, reason}]` from an API 4xx body.
 * @param {unknown} body
 * @returns {import('./view.js').FieldError[]}
 */
function fieldErrors (body) {
  const errors = /** @type {{ errors?: unknown }} */ (body ?? {}).errors
  if (!Array.isArray(errors)) return []
  return errors
    .filter((e) => typeof e?.reason === 'string')
    .map((e) => ({ field: String(e.field ?? ''), reason: e.reason }))
}

start()
