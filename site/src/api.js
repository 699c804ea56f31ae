// @ts-check
// The support API on the page's own origin: POST {apiBasePath}/escalate and POST {apiBasePath}/store-query.
// Query-log rows wait in a durable queue (localStorage) until the API has them: a failed post is retried later
// (next turn, `online`, next load), never dropped; a 4xx is a bad row and is logged instead.
// An escalation carries an idempotency key the page makes: the same submission, retried, has the same key, so the
// API opens one ticket however often it is sent; a changed submission gets a new key.
import { fetchWithRetry, isRetryable, jsonOrThrow, ServiceError } from './http.js'
import { KEYS, readJson, writeJson } from './store.js'

/**
 * @typedef {{ role: 'user' | 'bot', text: string, timestamp: number }} HistoryTurn
 * @typedef {{
 *   sessionId: string, userQuery: string, userEmail: string, userName: string, conversationHistory: HistoryTurn[]
 * }} EscalationRequest
 * @typedef {{ ticketId: string, status: string }} EscalationTicket
 * @typedef {{ limit: number, windowSeconds: number | null }} TicketLimit
 * @typedef {{
 *   sessionId: string, timestamp: number, userQuery: string, botResponse: string,
 *   confidenceScore: number | null, intentName: string | null, sentiment?: string | null,
 *   answerSources?: string[]
 * }} QueryLogRow
 */

export const HISTORY_LIMIT = 50 // turns sent with an escalation, oldest first
export const IDEMPOTENCY_KEY_FIELD = 'idempotencyKey' // the escalation field naming one submission (API: issue 13)
export const ESCALATION_RETRIES = 4 // five attempts: a ticket matters more than a few seconds
export const ESCALATION_BASE_DELAY_MS = 500
export const RETRY_LATER_MS = 30_000 // while rows wait and the page stays open, try again this often

export class SupportApi {
  /**
   * @param {{
   *   basePath: string,
   *   storage: Storage,
   *   fetch?: typeof fetch,
   *   retry?: import('./http.js').RetryOptions
   * }} options
   */
  constructor ({ basePath, storage, fetch = globalThis.fetch.bind(globalThis), retry = {} }) {
    if (typeof basePath !== 'string') throw new TypeError('basePath is required')
    this.basePath = basePath.replace(/\/+$/, '')
    this.storage = storage
    this.fetch = fetch
    this.retry = retry
    /** @type {Promise<void> | null} */
    this._flushing = null
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._retryTimer = undefined
  }

  /**
   * Open a support ticket; the team emails the user. Every attempt carries the same `idempotencyKey`, so a retry
   * never opens a second ticket. Retried: 409 (the API is still opening the ticket of this key), 5xx and 429 (with
   * its Retry-After), except the 429 of the ticket limit, which a retry cannot lift. A 4xx throws a ServiceError
   * whose body lists `errors: [{field, reason}]` (or, for 429, names the limit: see `ticketLimit`).
   * @param {EscalationRequest} request
   * @param {string} idempotencyKey one per submission, kept across its retries
   * @returns {Promise<EscalationTicket>}
   */
  async escalate (request, idempotencyKey) {
    if (!idempotencyKey) throw new TypeError('idempotencyKey is required')
    const body = JSON.stringify({
      ...request,
      conversationHistory: request.conversationHistory.slice(-HISTORY_LIMIT),
      [IDEMPOTENCY_KEY_FIELD]: idempotencyKey
    })
    const response = await fetchWithRetry(() => this._post('escalate', body), {
      retries: ESCALATION_RETRIES,
      baseDelayMs: ESCALATION_BASE_DELAY_MS,
      retryOn: escalationRetryable,
      ...this.retry
    })
    const ticket = await jsonOrThrow(response)
    if (typeof ticket?.ticketId !== 'string') throw new ServiceError('service', 'the API returned no ticket id', response.status)
    return ticket
  }

  /**
   * Queue a query-log row and try to send everything queued; never waits on the network.
   * @param {QueryLogRow} row
   */
  logQuery (row) {
    const queue = this.pendingQueries().filter((queued) => !sameRow(queued, row))
    if (writeJson(this.storage, KEYS.PENDING_QUERIES, [...queue, row])) {
      this.flushQueries()
    } else {
      // Storage is full: the row cannot wait, so it gets one direct attempt.
      this._post('store-query', JSON.stringify(row)).catch(() => console.warn('[chatbot] query log row lost'))
    }
  }

  /** @returns {QueryLogRow[]} rows not yet accepted by the API */
  pendingQueries () {
    /** @type {unknown} */
    const queue = readJson(this.storage, KEYS.PENDING_QUERIES, [])
    return Array.isArray(queue) ? queue.filter((row) => typeof row === 'object' && row !== null) : []
  }

  /**
   * Send queued rows in order until one fails for a reason worth retrying.
   * @returns {Promise<void>}
   */
  flushQueries () {
    if (!this._flushing) {
      this._flushing = this._flush().finally(() => { this._flushing = null })
    }
    return this._flushing
  }

  async _flush () {
    clearTimeout(this._retryTimer)
    for (let row = this.pendingQueries()[0]; row; row = this.pendingQueries()[0]) {
      let response
      try {
        response = await this._post('store-query', JSON.stringify(row))
      } catch {
        response = null // offline or blocked
      }
      if (!response || isRetryable(response.status)) {
        // Kept: retried on the next turn, the `online` event, the next load, or in a while.
        this._retryTimer = setTimeout(() => this.flushQueries(), RETRY_LATER_MS)
        return
      }
      if (!response.ok) {
        console.warn('[chatbot] query log refused a row (HTTP %s): %s', response.status, await response.text())
      }
      this._forget(row)
    }
  }

  /** @param {QueryLogRow} row */
  _forget (row) {
    // Re-read: another tab may have changed the queue meanwhile.
    writeJson(this.storage, KEYS.PENDING_QUERIES, this.pendingQueries().filter((queued) => !sameRow(queued, row)))
  }

  /**
   * @param {string} path
   * @param {string} body
   */
  _post (path, body) {
    return this.fetch(`${this.basePath}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body
    })
  }
}

/**
 * The ticket limit a 429 from /escalate names: `{"message", "limit": N, "windowSeconds": S}`; null for any other
 * answer (a plain throttle, which a retry may get past).
 * @param {unknown} body
 * @returns {TicketLimit | null}
 */
export function ticketLimit (body) {
  const { limit, windowSeconds } = /** @type {{ limit?: unknown, windowSeconds?: unknown }} */ (body ?? {})
  if (!Number.isInteger(limit) || /** @type {number} */ (limit) < 1) return null
  const window = Number.isInteger(windowSeconds) && /** @type {number} */ (windowSeconds) > 0 ? /** @type {number} */ (windowSeconds) : null
  return { limit: /** @type {number} */ (limit), windowSeconds: window }
}

/**
 * @param {Response} response
 * @returns {Promise<boolean>}
 */
async function escalationRetryable (response) {
  if (response.status === 409) return true
  if (response.status !== 429) return isRetryable(response.status)
  const body = await response.clone().json().catch(() => undefined)
  return ticketLimit(body) === null
}

/**
 * @param {QueryLogRow} a
 * @param {QueryLogRow} b
 */
function sameRow (a, b) {
  return a?.sessionId === b.sessionId && a?.timestamp === b.timestamp
}
