// @ts-check
// The admin page's DOM: every text from the log is set with textContent, never parsed as markup.

/** @typedef {import('./api.js').Turn} Turn */

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/**
 * A readable local time for an epoch-ms moment, inside <time datetime="ISO">.
 * @param {Document} doc
 * @param {number} ms
 */
export function timeElement (doc, ms) {
  const time = doc.createElement('time')
  time.dateTime = new Date(ms).toISOString()
  time.textContent = TIME_FORMAT.format(new Date(ms))
  time.title = time.dateTime
  return time
}

/**
 * `YYYY-MM-DDTHH:MM` in local time, what <input type="datetime-local"> holds.
 * @param {number} ms
 */
export function localInputValue (ms) {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000)
  return date.toISOString().slice(0, 16)
}

export class AdminView {
  /** @param {Document} doc */
  constructor (doc) {
    this.doc = doc
    /** @param {string} id */
    const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id))
    this.signIn = $('sign-in')
    this.signInError = $('sign-in-error')
    this.signInButton = /** @type {HTMLButtonElement} */ ($('sign-in-button'))
    this.workspace = $('workspace')
    this.signOutButton = $('sign-out')
    this.signedInAs = $('signed-in-as')
    this.filters = /** @type {HTMLFormElement} */ ($('filters'))
    this.exportButton = /** @type {HTMLButtonElement} */ ($('export'))
    this.status = $('status')
    this.error = $('error')
    this.turns = $('turns')
    this.turnsEmpty = $('turns-empty')
    this.more = $('more')
    this.unanswered = $('unanswered')
    this.worst = $('worst')
    this.dialog = /** @type {HTMLDialogElement} */ ($('conversation'))
    this.dialogTitle = $('conversation-title')
    this.dialogTurns = $('conversation-turns')
    $('conversation-close').addEventListener('click', () => this.dialog.close())
  }

  /** Signed out: only the sign-in shows. @param {string} [error] */
  renderSignedOut (error = '') {
    this.workspace.hidden = true
    this.signOutButton.hidden = true
    this.signedInAs.hidden = true
    this.signIn.hidden = false
    this.signInError.textContent = error
    this.turns.replaceChildren()
    this.unanswered.replaceChildren()
    this.worst.replaceChildren()
    if (this.dialog.open) this.dialog.close()
  }

  /** @param {string} email */
  renderSignedIn (email) {
    this.signIn.hidden = true
    this.workspace.hidden = false
    this.signOutButton.hidden = false
    this.signedInAs.hidden = !email
    this.signedInAs.textContent = email ? `Signed in as ${email}` : ''
  }

  /** @param {{from: number, to: number}} range */
  setRange ({ from, to }) {
    const field = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (this.filters.elements.namedItem(name))
    field('from').value = localInputValue(from)
    field('to').value = localInputValue(to)
  }

  /** The filters as the API takes them (times in epoch ms). @returns {import('./api.js').Filters} */
  readFilters () {
    const data = new FormData(this.filters)
    /** @param {string} name */
    const text = (name) => String(data.get(name) || '').trim()
    /** @param {string} name */
    const time = (name) => (text(name) ? new Date(text(name)).getTime() : undefined)
    return {
      from: time('from'),
      to: time('to') === undefined ? undefined : /** @type {number} */ (time('to')) + 59_999, // the whole minute
      intent: text('intent'),
      rating: text('rating'),
      sentiment: text('sentiment'),
      answer: text('answer'),
      session: text('session')
    }
  }

  /** @param {string} text */
  renderStatus (text) {
    this.status.textContent = text
  }

  /** @param {string} text */
  renderError (text) {
    this.error.textContent = text
  }

  /**
   * @param {Turn[]} turns
   * @param {boolean} append
   * @param {boolean} more
   * @param {(sessionId: string) => void} open
   */
  renderTurns (turns, append, more, open) {
    if (!append) this.turns.replaceChildren()
    for (const turn of turns) this.turns.append(this._turnRow(turn, open))
    this.turnsEmpty.hidden = this.turns.childElementCount > 0
    this.more.hidden = !more
  }

  /** @param {Turn} turn @param {(sessionId: string) => void} open */
  _turnRow (turn, open) {
    const row = this.doc.createElement('tr')
    row.className = 'border-t border-slate-200 align-top dark:border-slate-800'
    const session = this.doc.createElement('button')
    session.type = 'button'
    session.className = 'font-mono text-xs text-indigo-700 underline hover:no-underline dark:text-indigo-300'
    session.textContent = turn.sessionId
    session.setAttribute('aria-label', `Open conversation ${turn.sessionId}`)
    session.addEventListener('click', () => open(turn.sessionId))
    const rating = turn.rating === 'up' ? '👍 up' : turn.rating === 'down' ? '👎 down' : ''
    const cells = [
      timeElement(this.doc, turn.timestamp),
      session,
      turn.userQuery,
      turn.botResponse,
      turn.intentName || '',
      turn.sentiment || '',
      turn.ratingReason ? `${rating}: ${turn.ratingReason}` : rating
    ]
    for (const content of cells) {
      const cell = this.doc.createElement('td')
      cell.className = 'admin-cell whitespace-pre-wrap wrap-anywhere'
      if (typeof content === 'string') cell.textContent = content
      else cell.append(content)
      row.append(cell)
    }
    return row
  }

  /** @param {{text: string, count: number, examples: string[], lastAskedAt: number}[]} questions */
  renderUnanswered (questions) {
    this.unanswered.replaceChildren(
      ...questions.map((question) => {
        const item = this._item(`${question.count}× `, question.text)
        const when = this.doc.createElement('p')
        when.className = 'text-xs text-slate-600 dark:text-slate-400'
        const others = question.examples.filter((text) => text !== question.text)
        when.append('Last asked ', timeElement(this.doc, question.lastAskedAt), others.length ? ` · also: ${others.join(' · ')}` : '')
        item.append(when)
        return item
      })
    )
    if (!questions.length) this.unanswered.append(this._item('', 'No unanswered question in this range.'))
  }

  /** @param {{botResponse: string, intentName: string | null, down: number, up: number}[]} answers */
  renderWorstRated (answers) {
    this.worst.replaceChildren(
      ...answers.map((answer) => {
        const item = this._item(`👎 ${answer.down} · 👍 ${answer.up} `, answer.botResponse)
        const intent = this.doc.createElement('p')
        intent.className = 'text-xs text-slate-600 dark:text-slate-400'
        intent.textContent = answer.intentName || 'no intent'
        item.append(intent)
        return item
      })
    )
    if (!answers.length) this.worst.append(this._item('', 'No down-voted answer in this range.'))
  }

  /** @param {string} strong @param {string} text */
  _item (strong, text) {
    const item = this.doc.createElement('li')
    item.className = 'rounded-lg bg-slate-50 p-2 dark:bg-slate-800'
    const count = this.doc.createElement('strong')
    count.textContent = strong
    item.append(count, text)
    return item
  }

  /** @param {string} sessionId @param {Turn[]} turns */
  renderConversation (sessionId, turns) {
    this.dialogTitle.textContent = `Conversation ${sessionId}`
    this.dialogTurns.replaceChildren(
      ...turns.flatMap((turn) => [
        this._bubble('user', turn.userQuery, turn.timestamp),
        this._bubble('bot', turn.botResponse, turn.timestamp, turn.intentName)
      ])
    )
    if (!this.dialog.open) this.dialog.showModal()
  }

  /** @param {'user' | 'bot'} who @param {string} text @param {number} ms @param {string | null} [intent] */
  _bubble (who, text, ms, intent = null) {
    const item = this.doc.createElement('li')
    item.className = who === 'user'
      ? 'self-end max-w-[85%] whitespace-pre-wrap rounded-2xl bg-indigo-600 px-3 py-2 text-white'
      : 'self-start max-w-[85%] whitespace-pre-wrap rounded-2xl bg-slate-100 px-3 py-2 dark:bg-slate-800'
    const label = this.doc.createElement('span')
    label.className = 'sr-only'
    label.textContent = who === 'user' ? 'User: ' : 'Bot: '
    const meta = this.doc.createElement('span')
    meta.className = 'mt-1 block text-xs opacity-80'
    meta.append(timeElement(this.doc, ms), intent ? ` · ${intent}` : '')
    item.append(label, text, meta)
    return item
  }

  /** @param {Blob} blob @param {string} name */
  download (blob, name) {
    const url = URL.createObjectURL(blob)
    const link = this.doc.createElement('a')
    link.href = url
    link.download = name
    this.doc.body.append(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }
}
