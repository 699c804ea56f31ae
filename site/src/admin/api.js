// @ts-check
// The admin API (`/api/admin/*`), called with the signed-in staff member's ID token.

/**
 * @typedef {{ sessionId: string, timestamp: number, userQuery: string, botResponse: string, intentName: string | null,
 *   confidenceScore: number | null, sentiment: string | null, rating: string | null, ratingReason: string | null,
 *   answerSources: string[] }} Turn
 * @typedef {{ from?: number, to?: number, intent?: string, rating?: string, sentiment?: string, answer?: string,
 *   session?: string }} Filters
 */

/** The API answered 401: the token is no longer accepted. */
export class SignedOutError extends Error {}

export class AdminApi {
  /**
   * @param {{ basePath: string, token: () => string | null, fetcher?: typeof fetch }} options
   */
  constructor ({ basePath, token, fetcher }) {
    if (typeof basePath !== 'string') throw new TypeError('basePath is required')
    this.basePath = basePath.replace(/\/$/, '')
    this.token = token
    this.fetcher = fetcher || fetch.bind(window)
  }

  /** @param {Filters} filters @param {string | null} [cursor] @returns {Promise<{turns: Turn[], nextCursor: string | null}>} */
  turns (filters, cursor = null) {
    return this._json('/admin/turns', { ...filters, limit: 50, ...(cursor ? { cursor } : {}) })
  }

  /** @param {string} sessionId @returns {Promise<{sessionId: string, turns: Turn[]}>} */
  conversation (sessionId) {
    return this._json(`/admin/conversations/${encodeURIComponent(sessionId)}`, {})
  }

  /** @param {Filters} filters */
  unanswered (filters) {
    return this._json('/admin/unanswered', { from: filters.from, to: filters.to, limit: 10 })
  }

  /** @param {Filters} filters */
  worstRated (filters) {
    return this._json('/admin/worst-rated', { from: filters.from, to: filters.to, limit: 10 })
  }

  /** @param {Filters} filters @returns {Promise<{blob: Blob, name: string}>} */
  async exportCsv (filters) {
    const response = await this._get('/admin/export', filters)
    const disposition = response.headers.get('Content-Disposition') || ''
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || 'query-log.csv'
    return { blob: await response.blob(), name }
  }

  /** @param {string} path @param {Record<string, unknown>} params */
  async _json (path, params) {
    return (await this._get(path, params)).json()
  }

  /** @param {string} path @param {Record<string, unknown>} params */
  async _get (path, params) {
    const token = this.token()
    if (!token) throw new SignedOutError('Signed out')
    const query = new URLSearchParams()
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') query.set(key, String(value))
    }
    const url = `${this.basePath}${path}${query.size ? `?${query}` : ''}`
    const response = await this.fetcher(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } })
    if (response.status === 401) throw new SignedOutError('Your sign-in has expired.')
    if (!response.ok) {
      let reason = `The admin API answered ${response.status}.`
      try {
        const body = await response.json()
        const first = body.errors?.[0]
        reason = first ? `${first.field}: ${first.reason}` : body.message || reason
      } catch {}
      throw new Error(reason)
    }
    return response
  }
}
