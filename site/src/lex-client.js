// @ts-check
// Talks to Amazon Cognito (guest credentials) and Amazon Lex V2 (RecognizeText, DeleteSession) from the browser.
import { fetchWithRetry, jsonOrThrow, ServiceError } from './http.js'
import { signRequest } from './sigv4.js'
import { KEYS } from './store.js'

/**
 * @typedef {import('./sigv4.js').Credentials} Credentials
 * @typedef {import('./http.js').RetryOptions} RetryOptions
 * @typedef {{
 *   region: string, identityPoolId: string, botId: string, botAliasId: string, localeId: string,
 *   apiBasePath: string, lexEndpoint: string, cognitoEndpoint: string, suggestions: string[]
 * }} ChatbotConfig
 * @typedef {{ title?: unknown, subtitle?: unknown, buttons?: unknown }} LexImageResponseCard
 * @typedef {{ contentType: string, content?: string, imageResponseCard?: LexImageResponseCard }} LexMessage
 * @typedef {import('./store.js').ReplyCard} ReplyCard
 * @typedef {{ text: string, card?: ReplyCard }} BotMessage
 * @typedef {{
 *   sessionId?: string,
 *   messages?: LexMessage[],
 *   sessionState?: {
 *     dialogAction?: { type: string, slotToElicit?: string },
 *     intent?: { name: string, state?: string, slots?: Record<string, unknown> },
 *     sessionAttributes?: Record<string, string>
 *   },
 *   interpretations?: Array<{ intent?: { name: string }, nluConfidence?: { score: number } }>
 * }} LexResponse
 */

const REFRESH_MARGIN_MS = 5 * 60 * 1000 // renew guest credentials five minutes before they expire
const CARD_CONTENT_TYPE = 'ImageResponseCard'
const MAX_CARD_BUTTONS = 5 // Lex V2 sends at most five buttons per card
// Lex asks "yes or no?" with dialogAction ConfirmIntent; a card from the bot wins over these.
const CONFIRMATION_CARD = Object.freeze({ buttons: [{ text: 'Yes', value: 'yes' }, { text: 'No', value: 'no' }] })
const COGNITO_CONTENT_TYPE = 'application/x-amz-json-1.1'

export class LexClient {
  /**
   * @param {{
   *   config: ChatbotConfig,
   *   storage: Storage,
   *   fetch?: typeof fetch,
   *   now?: () => number,
   *   retry?: RetryOptions
   * }} options
   */
  constructor ({ config, storage, fetch = globalThis.fetch.bind(globalThis), now = Date.now, retry = {} }) {
    if (!config) throw new TypeError('config is required')
    this.config = config
    this.storage = storage
    this.fetch = fetch
    this.now = now
    this.retry = retry
    /** @type {Promise<Credentials> | null} */
    this._credentials = null
  }

  /**
   * Send the user's text to the bot; session attributes go back to Lex as they came.
   * @param {string} sessionId
   * @param {string} text
   * @param {Record<string, string>} sessionAttributes
   * @returns {Promise<LexResponse>}
   */
  async recognizeText (sessionId, text, sessionAttributes) {
    const body = JSON.stringify({ text, sessionState: { sessionAttributes } })
    return jsonOrThrow(await this._signedFetch('POST', `${this._sessionUrl(sessionId)}/text`, body))
  }

  /**
   * Forget the conversation on the Lex side ("New conversation"). A session Lex never saw is not an error.
   * @param {string} sessionId
   */
  async deleteSession (sessionId) {
    const response = await this._signedFetch('DELETE', this._sessionUrl(sessionId), '')
    if (response.status !== 404) await jsonOrThrow(response)
  }

  /** @param {string} sessionId */
  _sessionUrl (sessionId) {
    const { lexEndpoint, botId, botAliasId, localeId } = this.config
    const path = ['bots', botId, 'botAliases', botAliasId, 'botLocales', localeId, 'sessions', sessionId]
    return `${lexEndpoint.replace(/\/+$/, '')}/${path.map(encodeURIComponent).join('/')}`
  }

  /**
   * @param {string} method
   * @param {string} url
   * @param {string} body
   * @returns {Promise<Response>}
   */
  async _signedFetch (method, url, body) {
    const send = async () => {
      const credentials = await this.credentials()
      const headers = await signRequest({
        method,
        url,
        body,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        credentials,
        region: this.config.region,
        service: 'lex'
      })
      return this.fetch(url, { method, headers, body: body || undefined })
    }
    const response = await fetchWithRetry(send, this.retry)
    if (response.status !== 403) return response
    this._credentials = null // expired or revoked guest credentials: fetch new ones once
    return fetchWithRetry(send, this.retry)
  }

  /**
   * Guest credentials from the identity pool, cached until five minutes before they expire.
   * @returns {Promise<Credentials>}
   */
  credentials () {
    const cached = this._credentials
    if (cached) {
      return cached.then((c) => c.expiration - REFRESH_MARGIN_MS > this.now() ? c : this._renewCredentials())
    }
    return this._renewCredentials()
  }

  /** @returns {Promise<Credentials>} */
  _renewCredentials () {
    const pending = this._fetchCredentials()
    this._credentials = pending
    pending.catch(() => { if (this._credentials === pending) this._credentials = null })
    return pending
  }

  /** @returns {Promise<Credentials>} */
  async _fetchCredentials () {
    const saved = this.storage.getItem(KEYS.IDENTITY_ID)
    if (saved) {
      try {
        return await this._credentialsFor(saved)
      } catch (error) {
        // An identity the pool no longer knows (deleted, other pool): start a new one.
        if (!(error instanceof ServiceError && error.kind === 'rejected')) throw error
        this.storage.removeItem(KEYS.IDENTITY_ID)
      }
    }
    const { IdentityId } = await this._cognito('GetId', { IdentityPoolId: this.config.identityPoolId })
    if (typeof IdentityId !== 'string') throw new ServiceError('service', 'Cognito GetId returned no IdentityId')
    try {
      this.storage.setItem(KEYS.IDENTITY_ID, IdentityId)
    } catch {} // storage full or forbidden: a new identity next time
    return this._credentialsFor(IdentityId)
  }

  /**
   * @param {string} identityId
   * @returns {Promise<Credentials>}
   */
  async _credentialsFor (identityId) {
    const { Credentials: c } = await this._cognito('GetCredentialsForIdentity', { IdentityId: identityId })
    if (!c?.AccessKeyId || !c.SecretKey || !c.SessionToken) {
      throw new ServiceError('service', 'Cognito returned no credentials')
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretKey,
      sessionToken: c.SessionToken,
      expiration: Number(c.Expiration) * 1000
    }
  }

  /**
   * An unsigned Cognito Identity call (the guest flow needs no credentials).
   * @param {string} action
   * @param {Record<string, string>} payload
   */
  async _cognito (action, payload) {
    const response = await fetchWithRetry(() => this.fetch(this.config.cognitoEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': COGNITO_CONTENT_TYPE, 'X-Amz-Target': `AWSCognitoIdentityService.${action}` },
      body: JSON.stringify(payload)
    }), this.retry)
    return jsonOrThrow(response)
  }
}

/**
 * What the bot understood: the intent Lex settled on and the NLU confidence Lex gave it.
 * @param {LexResponse} response
 * @returns {{ intentName: string | null, confidence: number | null }}
 */
export function understanding (response) {
  const intentName = response.sessionState?.intent?.name ?? null
  const match = response.interpretations?.find((i) => i.intent?.name === intentName)
  const score = match?.nluConfidence?.score
  return { intentName, confidence: typeof score === 'number' ? score : null }
}

/**
 * The bot's messages in order (Lex may send several per turn): text ones, and response cards as their title with
 * their buttons as quick replies (the card's image is not shown: the page loads no third-party image). When Lex asks
 * for a confirmation and sent no card, the last message gets Yes and No.
 * @param {LexResponse} response
 * @returns {BotMessage[]}
 */
export function botMessages (response) {
  /** @type {BotMessage[]} */
  const messages = []
  for (const message of response.messages ?? []) {
    if (message.contentType === CARD_CONTENT_TYPE) {
      const card = readCard(message.imageResponseCard)
      if (card) messages.push(card)
    } else if (typeof message.content === 'string' && message.content.trim() !== '') {
      messages.push({ text: message.content })
    }
  }
  const last = messages[messages.length - 1]
  if (response.sessionState?.dialogAction?.type === 'ConfirmIntent' && last && !messages.some((m) => m.card)) {
    last.card = { buttons: CONFIRMATION_CARD.buttons.map((b) => ({ ...b })) }
  }
  return messages
}

/**
 * @param {LexImageResponseCard | undefined} card
 * @returns {BotMessage | null}
 */
function readCard (card) {
  if (typeof card !== 'object' || card === null || !isText(card.title)) return null
  const buttons = (Array.isArray(card.buttons) ? card.buttons : [])
    .filter((b) => isText(b?.text) && isText(b?.value))
    .slice(0, MAX_CARD_BUTTONS)
    .map((b) => ({ text: String(b.text), value: String(b.value) }))
  /** @type {ReplyCard} */
  const reply = { buttons }
  if (isText(card.subtitle)) reply.subtitle = /** @type {string} */ (card.subtitle)
  return { text: /** @type {string} */ (card.title), card: reply }
}

/**
 * @param {unknown} value
 * @returns {boolean}
 */
function isText (value) {
  return typeof value === 'string' && value.trim() !== ''
}
