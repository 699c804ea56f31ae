// @ts-check
// Composition root: reads config.js, builds the clients and the view, and wires the conversation together.
import { SupportApi, ticketLimit } from './api.js'
import { applyBranding, readBranding } from './branding.js'
import { FeedbackApi, sentimentOf } from './feedback.js'
import { connectHost, embedOriginsOf } from './host-bridge.js'
import { ServiceError } from './http.js'
import { botMessages, LexClient, understanding } from './lex-client.js'
import { answerSources } from './sources.js'
import { loadSession, newSession, saveSession, storageOf } from './store.js'
import { chooseTheme, currentTheme, followSystemTheme } from './theme.js'
import { ticketLimitReason, View } from './view.js'

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
    // Whoever runs the site reads the reason here; the user is told the chat is unavailable.
    console.error('[chatbot] %s', error instanceof Error ? error.message : String(error))
    view.renderUnavailable()
    return
  }

  const branding = readBranding(/** @type {Record<string, unknown>} */ (window.CHATBOT_CONFIG))
  applyBranding(document, branding)
  view.renderBranding(branding)

  const lex = new LexClient({ config, storage: local })
  const api = new SupportApi({ basePath: config.apiBasePath, storage: local })
  const feedback = new FeedbackApi({ basePath: config.apiBasePath, flush: () => api.flushQueries() })
  // session.queued: typed ahead; sent one at a time, in order, each after the bot answered the one before
  let session = loadSession(tab)
  let inFlight = false
  /** @type {Turn | null} */
  let failedTurn = null

  const save = () => saveSession(tab, session)

  /** Send the next queued turn, unless one is on its way or failed (then Retry or a new message goes on). */
  function pump () {
    if (inFlight || failedTurn) return
    const turn = session.queued.shift()
    if (!turn) return
    session.entries.push(turn)
    save()
    view.renderQueue(session.queued)
    view.renderEntry(turn)
    converse(turn).then(pump)
  }

  /** @param {Turn} turn the user's turn, already shown */
  async function converse (turn) {
    const sessionId = session.id
    inFlight = true
    view.clearFailure()
    view.renderBusy(true)
    try {
      const response = await lex.recognizeText(sessionId, turn.value ?? turn.text, session.attributes)
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
    const sentiment = sentimentOf(response)
    console.info('[chatbot] intent=%s confidence=%s', intentName ?? 'n/a', confidence ?? 'n/a')
    const wasOffered = session.attributes.escalationOffered === 'true'
    session.attributes = stringValues(response.sessionState?.sessionAttributes)
    const offered = session.attributes.escalationOffered === 'true'
    const messages = botMessages(response)
    const sources = answerSources(response) // QnAIntent's documents, shown under its answer (the last message)
    for (const [index, message] of messages.entries()) {
      /** @type {Turn} */
      const reply = { role: 'bot', text: message.text, timestamp: Date.now() }
      if (message.card) reply.card = message.card
      // The answer is rated once, under its last message, on the row this turn is logged in.
      if (index === messages.length - 1) reply.rated = { sessionId: session.id, timestamp: turn.timestamp }
      if (sources.length > 0 && index === messages.length - 1) reply.sources = sources
      session.entries.push(reply)
      view.renderEntry(reply)
    }
    host.replyArrived()
    // Lex echoes session attributes: the form appears when the bot makes the offer, and goes if the bot withdraws
    // it (a form the user opened with "Talk to a person" stays).
    if (offered && !wasOffered) {
      session.escalationOffered = true
      view.renderEscalationForm({ question: lastQuestion() })
    } else if (wasOffered && !offered && session.escalationOffered) {
      session.escalationOffered = false
      view.removeEscalationForm()
    }
    save()
    api.logQuery({
      sessionId: session.id,
      timestamp: turn.timestamp,
      userQuery: turn.value ?? turn.text,
      botResponse: messages.map((m) => m.text).join('\n'),
      confidenceScore: confidence,
      intentName,
      ...(sentiment ? { sentiment } : {}), // only when the alias analyses sentiment
      ...(sources.length > 0 ? { answerSources: sources } : {})
    })
  }

  /**
   * The user's message (or quick reply): shown at once, queued, and sent when the bot has answered what came before.
   * @param {string} text what the conversation shows
   * @param {string} [value] what Lex is sent (a quick reply's value), if not the text
   */
  function send (text, value = text) {
    /** @type {Turn} */
    const turn = { role: 'user', text, timestamp: nextTimestamp() }
    if (value !== text) turn.value = value
    if (failedTurn) {
      failedTurn = null // a new message leaves the failed one behind, as it is
      view.clearFailure()
    }
    session.queued.push(turn)
    save()
    view.clearInput()
    view.renderQueue(session.queued)
    pump()
  }

  /** Query-log rows are keyed by session and time: two turns never share a millisecond. */
  function nextTimestamp () {
    const latest = [...session.entries, ...session.queued].reduce((max, entry) => Math.max(max, entry.timestamp), 0)
    return Math.max(Date.now(), latest + 1)
  }

  /** @returns {string} the user's last question, to start the contact form from */
  function lastQuestion () {
    const turn = session.entries.findLast((entry) => entry.role === 'user')
    return turn?.role === 'user' ? turn.text : ''
  }

  function talkToPerson () {
    session.escalationOffered = true
    save()
    view.renderEscalationForm({ question: lastQuestion(), focus: true })
  }

  /** @param {Contact} contact */
  async function escalate (contact) {
    const sessionId = session.id
    const history = session.entries.flatMap((e) => e.role === 'ticket' ? [] : [{ role: e.role, text: e.text, timestamp: e.timestamp }])
    // One key per submission: kept while the same fields are sent again (a retry cannot open a second ticket),
    // new when the user changed one (that is another request), forgotten once a ticket confirms it.
    const fingerprint = JSON.stringify([sessionId, contact.userQuery, contact.userEmail, contact.userName])
    if (session.escalation?.fingerprint !== fingerprint) session.escalation = { fingerprint, key: crypto.randomUUID() }
    const key = session.escalation.key
    save()
    view.renderEscalationBusy(true)
    try {
      const ticket = await api.escalate({
        sessionId,
        userQuery: contact.userQuery,
        userEmail: contact.userEmail,
        userName: contact.userName,
        conversationHistory: history
      }, key)
      if (session.id !== sessionId) return
      const note = /** @type {const} */ ({ role: 'ticket', ticketId: ticket.ticketId, email: contact.userEmail, timestamp: Date.now() })
      session.entries.push(note)
      session.escalationOffered = false
      delete session.escalation
      save()
      view.removeEscalationForm()
      view.renderEntry(note)
    } catch (error) {
      console.error('[chatbot] escalation failed', error)
      view.renderEscalationErrors(escalationErrors(error))
    } finally {
      view.renderEscalationBusy(false)
    }
  }

  function startOver () {
    const previous = session.id
    session = newSession()
    save()
    failedTurn = null
    view.clearFailure()
    view.renderBusy(false)
    view.renderConversation({ entries: [], suggestions: config.suggestions, escalationOffered: false, queued: [], question: '' })
    view.focusInput()
    lex.deleteSession(previous).catch((error) => console.warn('[chatbot] could not delete the Lex session', error))
  }

  view.bindSend(send)
  view.bindSuggestion(send)
  view.bindQuickReply(send)
  view.bindRetry(() => {
    if (!failedTurn || inFlight) return
    const turn = failedTurn
    failedTurn = null
    converse(turn).then(pump)
  })
  view.bindTalkToPerson(talkToPerson)
  view.bindEscalate(escalate)
  view.bindNewConversation(startOver)
  view.bindFeedback(feedback, (keys, rating) => {
    const answer = session.entries.find((e) => e.role === 'bot' && e.rated?.sessionId === keys.sessionId && e.rated.timestamp === keys.timestamp)
    if (answer?.role === 'bot') {
      answer.rating = rating
      save()
    }
  })
  view.renderConversation({
    entries: session.entries,
    suggestions: config.suggestions,
    escalationOffered: session.escalationOffered,
    queued: session.queued,
    question: lastQuestion()
  })
  view.focusInput()
  // Framed by an allowed site (embed.js): its initial question starts a new conversation only, never a second time
  const host = connectHost({
    window,
    origins: embedOriginsOf(window.CHATBOT_CONFIG),
    ask: (question) => { if (session.entries.length + session.queued.length === 0) send(question) },
    opened: () => view.focusInput()
  })
  pump() // messages typed ahead before a reload
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
 * What the contact form says when an escalation failed: the ticket limit, the API's reasons per field, or that the
 * request did not get through.
 * @param {unknown} error
 * @returns {import('./view.js').FieldError[]}
 */
function escalationErrors (error) {
  if (error instanceof ServiceError && error.status === 429) {
    return [{ field: 'other', reason: ticketLimitReason(ticketLimit(error.body)) }]
  }
  const errors = error instanceof ServiceError && error.kind === 'rejected' ? fieldErrors(error.body) : []
  return errors.length > 0
    ? errors
    : [{ field: 'other', reason: 'Your request did not reach the support team. Please try again in a moment.' }]
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
