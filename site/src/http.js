// @ts-check
// fetch with bounded retries on 5xx and 429 (exponential backoff, full jitter), and errors the view can explain.

export const MAX_RETRIES = 2 // three attempts in all
export const BASE_DELAY_MS = 300

/** @typedef {'network' | 'throttled' | 'rejected' | 'service'} FailureKind */

/** A request that failed: `kind` says whether the network, throttling, the request or the service is to blame. */
export class ServiceError extends Error {
  /**
   * @param {FailureKind} kind
   * @param {string} message
   * @param {number} [status] HTTP status; 0 when no response came
   * @param {unknown} [body] the parsed JSON error body, if any
   */
  constructor (kind, message, status = 0, body = undefined) {
    super(message)
    this.name = 'ServiceError'
    this.kind = kind
    this.status = status
    this.body = body
  }
}

/**
 * @typedef {{
 *   retries?: number,
 *   baseDelayMs?: number,
 *   sleep?: (ms: number) => Promise<void>,
 *   random?: () => number
 * }} RetryOptions
 */

/**
 * Send (and re-send, when the answer is 5xx or 429) a request; `send` builds a fresh request each time,
 * so a signature never goes stale. Network failures are not retried here: the user gets a Retry button.
 * @param {() => Promise<Response>} send
 * @param {RetryOptions} [options]
 * @returns {Promise<Response>} the last response, whatever its status
 */
export async function fetchWithRetry (send, { retries = MAX_RETRIES, baseDelayMs = BASE_DELAY_MS, sleep = delay, random = Math.random } = {}) {
  for (let attempt = 0; ; attempt++) {
    let response
    try {
      response = await send()
    } catch (error) {
      throw new ServiceError('network', `network error: ${error instanceof Error ? error.message : error}`)
    }
    if (!isRetryable(response.status) || attempt >= retries) return response
    await sleep(random() * baseDelayMs * 2 ** attempt)
  }
}

/**
 * Read a JSON body, or turn a failed response into a ServiceError.
 * @param {Response} response
 * @returns {Promise<any>}
 */
export async function jsonOrThrow (response) {
  const body = await response.json().catch(() => undefined)
  if (response.ok) return body
  const type = response.headers.get('x-amzn-ErrorType') ?? body?.__type ?? ''
  const message = body?.message ?? body?.Message ?? `HTTP ${response.status}`
  const kind = response.status === 429 || /Throttl/i.test(type)
    ? 'throttled'
    : response.status >= 500 ? 'service' : 'rejected'
  throw new ServiceError(kind, message, response.status, body)
}

/** @param {number} status */
export function isRetryable (status) {
  return status === 429 || status >= 500
}

/** @param {number} ms */
function delay (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
