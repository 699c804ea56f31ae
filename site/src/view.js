// @ts-check
// Owns the DOM. main.js calls `render*` to show state and `bind*` to hear the user; nothing else touches the page.
// Every word from people and bots goes in through textContent, never as HTML.
import { bindFeedback, ratingControls } from './feedback.js'
import { toBlocks } from './format.js'
import { sourcesNode } from './sources.js'

/**
 * @typedef {import('./store.js').Entry} Entry
 * @typedef {import('./http.js').FailureKind} FailureKind
 * @typedef {{ field: string, reason: string }} FieldError
 * @typedef {import('./store.js').Turn} Turn
 * @typedef {import('./store.js').ReplyCard} ReplyCard
 * @typedef {{ userName: string, userEmail: string, userQuery: string }} Contact
 * @typedef {'userName' | 'userEmail' | 'userQuery' | 'other'} ContactField
 */

export const MAX_MESSAGE_CHARS = 1024 // Lex accepts at most 1,024 characters of text
export const COUNTER_THRESHOLD = 100 // show the counter within this many characters of the limit
const ENTER_KEY = 'Enter'
export const DEFAULT_WELCOME = 'Hi! I am the support assistant. I can check an order, explain your bill, tell you about our ' +
  'products and help with passwords or Wi-Fi. Ask me anything, or pick a question:'
const FAILURE_TEXT = /** @type {Record<FailureKind, string>} */ ({
  network: 'You seem to be offline, so the message was not sent. Check your connection and retry.',
  throttled: 'The assistant is busy right now. Wait a moment, then retry.',
  service: 'The assistant ran into a problem and could not answer. Please retry.',
  rejected: 'The assistant could not answer that message. Please retry.'
})
// The config-error screen is for the person who came to chat; the reason goes to the console for whoever runs it.
const UNAVAILABLE_TEXT = 'Sorry, the chat is not available right now. Please try again later.'
const QUEUED_TEXT = 'Waiting to send'
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const NAME_MAX = 100
const EMAIL_MAX = 254
const CONTACT_FIELDS = /** @type {const} */ (['userName', 'userEmail', 'userQuery', 'other'])
const SHORT_TIME = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' })
const FULL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' })

export class View {
  /** @param {Document} doc */
  constructor (doc) {
    this.doc = doc
    this.scroller = _byId(doc, 'scroller')
    this.log = _byId(doc, 'log')
    this.typing = _byId(doc, 'typing')
    this.queued = _byId(doc, 'queued')
    this.configError = _byId(doc, 'config-error')
    this.failure = _byId(doc, 'failure')
    this.failureMessage = _byId(doc, 'failure-message')
    this.retryButton = /** @type {HTMLButtonElement} */ (_byId(doc, 'retry'))
    this.composer = /** @type {HTMLFormElement} */ (_byId(doc, 'composer'))
    this.input = /** @type {HTMLTextAreaElement} */ (_byId(doc, 'message-input'))
    this.sendButton = /** @type {HTMLButtonElement} */ (_byId(doc, 'send'))
    this.counter = _byId(doc, 'counter')
    this.themeToggle = _byId(doc, 'theme-toggle')
    this.newConversationButton = /** @type {HTMLButtonElement} */ (_byId(doc, 'new-conversation'))
    this.talkButton = /** @type {HTMLButtonElement} */ (_byId(doc, 'talk-to-person'))
    this.privacyNotice = _byId(doc, 'privacy-notice')
    this.privacyNoticeLink = /** @type {HTMLAnchorElement} */ (_byId(doc, 'privacy-notice-link'))
    this.welcomeText = DEFAULT_WELCOME
    /** @type {string | null} */
    this.privacyNoticeUrl = null
    /** @type {HTMLFormElement | null} */
    this.escalationForm = null
    this.input.maxLength = MAX_MESSAGE_CHARS
    this.input.addEventListener('input', () => this._renderCounter())
  }

  /**
   * The stack's own welcome text and privacy notice link (branding.js reads them from config.js); null keeps the
   * page's welcome, and shows no notice. Call before the first renderConversation.
   * @param {{ welcomeText: string | null, privacyNoticeUrl: string | null }} branding
   */
  renderBranding ({ welcomeText, privacyNoticeUrl }) {
    this.welcomeText = welcomeText ?? DEFAULT_WELCOME
    this.privacyNoticeUrl = privacyNoticeUrl
    if (privacyNoticeUrl) this.privacyNoticeLink.href = privacyNoticeUrl
  }

  /**
   * The page cannot work (no or bad config.js): tell the user, in their words, where the chat would be, and lock
   * every control that would need the bot. The technical reason is main.js's to log.
   */
  renderUnavailable () {
    this.configError.textContent = UNAVAILABLE_TEXT
    this.configError.classList.remove('hidden')
    for (const control of [this.input, this.sendButton, this.newConversationButton, this.talkButton]) {
      control.disabled = true
    }
    this.typing.classList.add('hidden')
  }

  /**
   * The whole conversation: welcome, suggestions, every entry, the messages waiting to be sent, and the escalation
   * form if it is pending (its question prefilled with `question`). Quick replies answered since are disabled.
   * @param {{ entries: Entry[], suggestions: string[], escalationOffered: boolean, queued: Turn[], question: string }} state
   */
  renderConversation ({ entries, suggestions, escalationOffered, queued, question }) {
    this.escalationForm = null
    const lastUserTurn = entries.findLastIndex((entry) => entry.role === 'user')
    this.log.replaceChildren(
      _welcome(this.doc, suggestions, this.welcomeText),
      ...entries.map((entry, index) => _entryNode(this.doc, entry, index < lastUserTurn))
    )
    this._renderPrivacyNotice(entries.length === 0 && queued.length === 0)
    this.renderQueue(queued)
    if (escalationOffered) this.renderEscalationForm({ question })
    this._scrollToEnd()
  }

  /**
   * Add one entry at the end of the conversation; a user's turn answers (and disables) the quick replies before it.
   * @param {Entry} entry
   */
  renderEntry (entry) {
    if (entry.role === 'user') {
      for (const button of this.log.querySelectorAll('[data-reply-value]')) {
        /** @type {HTMLButtonElement} */ (button).disabled = true
      }
    }
    this.log.append(_entryNode(this.doc, entry, false))
    this._scrollToEnd()
  }

  /**
   * The messages typed ahead while the bot answers, in the order they will be sent.
   * @param {Turn[]} turns
   */
  renderQueue (turns) {
    this.queued.replaceChildren(...turns.map((turn) => {
      const bubble = _el(this.doc, 'li', 'bubble bubble-user')
      bubble.append(_speaker(this.doc, 'You'), _el(this.doc, 'p', '', turn.text),
        _el(this.doc, 'span', 'mt-1 block text-right text-xs text-on-accent', QUEUED_TEXT))
      return bubble
    }))
    this.queued.hidden = turns.length === 0
    if (turns.length > 0) this._renderPrivacyNotice(false) // the first message is on its way: read or not, it goes
    this._scrollToEnd()
  }

  /**
   * While the bot is answering: the typing indicator. The composer stays usable (type ahead; sends queue).
   * @param {boolean} busy
   */
  renderBusy (busy) {
    this.typing.classList.toggle('hidden', !busy)
    if (busy) this._scrollToEnd()
  }

  /**
   * @param {FailureKind} kind
   * @param {number} [status]
   */
  renderFailure (kind, status) {
    const suffix = status ? ` (HTTP ${status})` : ''
    this.failureMessage.textContent = FAILURE_TEXT[kind] + (kind === 'network' ? '' : suffix)
    this.failure.classList.replace('hidden', 'flex')
  }

  /**
   * Hear the votes on answers (thumbs up/down, a reason after a thumbs-down); `onRated` learns each accepted vote.
   * @param {import('./feedback.js').FeedbackSender} sender
   * @param {(keys: import('./feedback.js').RowKeys, rating: import('./feedback.js').Rating) => void} onRated
   */
  bindFeedback (sender, onRated) {
    bindFeedback(this.log, sender, onRated)
  }

  clearFailure () {
    this.failure.classList.replace('flex', 'hidden')
    this.failureMessage.textContent = ''
  }

  clearInput () {
    this.input.value = ''
    this._renderCounter()
  }

  focusInput () {
    this.input.focus()
  }

  /** @param {'light' | 'dark'} theme */
  renderTheme (theme) {
    this.themeToggle.setAttribute('aria-pressed', String(theme === 'dark'))
  }

  /**
   * Show the contact form at the end of the conversation (moved there if it already exists, keeping what the user
   * typed). `question` prefills a new form's question; `focus` puts the cursor in its first empty field.
   * @param {{ question: string, focus?: boolean }} options
   */
  renderEscalationForm ({ question, focus = false }) {
    this.escalationForm ??= _escalationForm(this.doc, question)
    this.log.append(this.escalationForm)
    this._scrollToEnd()
    if (focus) {
      const fields = /** @type {NodeListOf<HTMLInputElement | HTMLTextAreaElement>} */ (
        this.escalationForm.querySelectorAll('input, textarea'))
      const empty = [...fields].find((field) => field.value.trim() === '')
      ;(empty ?? fields[0])?.focus()
    }
  }

  /** @param {boolean} busy */
  renderEscalationBusy (busy) {
    const form = this.escalationForm
    if (!form) return
    for (const control of form.querySelectorAll('input, textarea, button')) {
      /** @type {HTMLInputElement | HTMLTextAreaElement | HTMLButtonElement} */ (control).disabled = busy
    }
  }

  /**
   * Reasons next to the fields they concern (from the client check or the API's 4xx); others below the form.
   * @param {FieldError[]} errors
   */
  renderEscalationErrors (errors) {
    const form = this.escalationForm
    if (!form) return
    /** @type {Record<ContactField, string[]>} */
    const byField = { userName: [], userEmail: [], userQuery: [], other: [] }
    for (const { field, reason } of errors) byField[_contactField(field)].push(reason)
    for (const key of CONTACT_FIELDS) {
      const message = /** @type {HTMLElement} */ (form.querySelector(`[data-error-for="${key}"]`))
      message.textContent = byField[key].join(' ')
      message.classList.toggle('hidden', byField[key].length === 0)
      const input = form.querySelector(`[name="${key}"]`)
      if (input) input.setAttribute('aria-invalid', String(byField[key].length > 0))
    }
    const firstInvalid = /** @type {HTMLInputElement | null} */ (form.querySelector('[aria-invalid="true"]'))
    firstInvalid?.focus()
  }

  removeEscalationForm () {
    this.escalationForm?.remove()
    this.escalationForm = null
  }

  /**
   * @param {(text: string) => void} handler the user's message, trimmed and not empty
   */
  bindSend (handler) {
    const submit = () => {
      const text = this.input.value.trim()
      if (text && !this.input.disabled) handler(text.slice(0, MAX_MESSAGE_CHARS))
    }
    this.composer.addEventListener('submit', (event) => {
      event.preventDefault()
      submit()
    })
    this.input.addEventListener('keydown', (event) => {
      if (event.key === ENTER_KEY && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        submit()
      }
    })
  }

  /** @param {(question: string) => void} handler */
  bindSuggestion (handler) {
    this.log.addEventListener('click', (event) => {
      const chip = /** @type {HTMLElement} */ (event.target).closest('[data-suggestion]')
      if (chip instanceof HTMLButtonElement && !chip.disabled) handler(chip.dataset.suggestion ?? '')
    })
  }

  /**
   * A quick reply chosen: the conversation shows its text, Lex is sent its value. The cursor goes back to the input.
   * @param {(text: string, value: string) => void} handler
   */
  bindQuickReply (handler) {
    this.log.addEventListener('click', (event) => {
      const button = /** @type {HTMLElement} */ (event.target).closest('[data-reply-value]')
      if (!(button instanceof HTMLButtonElement) || button.disabled) return
      handler(button.dataset.replyText ?? '', button.dataset.replyValue ?? '')
      this.input.focus()
    })
  }

  /** @param {() => void} handler */
  bindTalkToPerson (handler) {
    this.talkButton.addEventListener('click', handler)
  }

  /** @param {() => void} handler */
  bindRetry (handler) {
    this.retryButton.addEventListener('click', handler)
  }

  /** @param {() => void} handler */
  bindNewConversation (handler) {
    this.newConversationButton.addEventListener('click', handler)
  }

  /** @param {() => void} handler */
  bindThemeToggle (handler) {
    this.themeToggle.addEventListener('click', handler)
  }

  /**
   * @param {(contact: Contact) => void} handler called only when the client-side check passes
   */
  bindEscalate (handler) {
    this.log.addEventListener('submit', (event) => {
      const form = event.target
      if (!(form instanceof HTMLFormElement) || form !== this.escalationForm) return
      event.preventDefault()
      const data = new FormData(form)
      const contact = {
        userName: String(data.get('userName') ?? '').trim(),
        userEmail: String(data.get('userEmail') ?? '').trim(),
        userQuery: String(data.get('userQuery') ?? '').trim()
      }
      const errors = checkContact(contact)
      this.renderEscalationErrors(errors)
      if (errors.length === 0) handler(contact)
    })
  }

  /** @param {boolean} beforeTheFirstMessage */
  _renderPrivacyNotice (beforeTheFirstMessage) {
    this.privacyNotice.hidden = !(beforeTheFirstMessage && this.privacyNoticeUrl)
  }

  _renderCounter () {
    const left = MAX_MESSAGE_CHARS - this.input.value.length
    const near = left <= COUNTER_THRESHOLD
    this.counter.textContent = near ? `${left} of ${MAX_MESSAGE_CHARS} characters left` : ''
    this.counter.classList.toggle('hidden', !near)
  }

  _scrollToEnd () {
    this.scroller.scrollTop = this.scroller.scrollHeight
  }
}

/**
 * What the contact form says to a 429: the ticket limit the API named, politely; or, when it named none, that the
 * team is busy.
 * @param {import('./api.js').TicketLimit | null} limit
 * @returns {string}
 */
export function ticketLimitReason (limit) {
  if (!limit) return 'Our support team is receiving many requests right now. Please try again in a few minutes.'
  const times = limit.limit === 1 ? 'once' : `${limit.limit} times`
  const window = limit.windowSeconds === null ? '' : ` ${_per(limit.windowSeconds)}`
  return `Thank you for your patience: you can contact our support team ${times}${window} from one conversation, ` +
    'and you have reached that limit. The team will answer the requests you sent; please try again later.'
}

/**
 * "per hour", "every 2 hours", "per day", "every 90 seconds"
 * @param {number} seconds
 */
function _per (seconds) {
  for (const [unit, size] of /** @type {const} */ ([['day', 86_400], ['hour', 3600], ['minute', 60]])) {
    if (seconds % size === 0) return seconds === size ? `per ${unit}` : `every ${seconds / size} ${unit}s`
  }
  return `every ${seconds} seconds`
}

/**
 * The client-side check of the escalation form (the API checks again).
 * @param {Contact} contact
 * @returns {FieldError[]}
 */
export function checkContact ({ userName, userEmail, userQuery }) {
  /** @type {FieldError[]} */
  const errors = []
  if (!userName) errors.push({ field: 'userName', reason: 'Please enter your name.' })
  else if (userName.length > NAME_MAX) errors.push({ field: 'userName', reason: `Use at most ${NAME_MAX} characters.` })
  if (!userEmail) errors.push({ field: 'userEmail', reason: 'Please enter your email address.' })
  else if (userEmail.length > EMAIL_MAX || !EMAIL_PATTERN.test(userEmail)) {
    errors.push({ field: 'userEmail', reason: 'Enter an email address like name@example.com.' })
  }
  if (!userQuery) errors.push({ field: 'userQuery', reason: 'Please tell us what you need help with.' })
  else if (userQuery.length > MAX_MESSAGE_CHARS) errors.push({ field: 'userQuery', reason: `Use at most ${MAX_MESSAGE_CHARS} characters.` })
  return errors
}

/**
 * @param {Document} doc
 * @param {string} id
 * @returns {HTMLElement}
 */
function _byId (doc, id) {
  const element = doc.getElementById(id)
  if (!element) throw new TypeError(`the page has no #${id}`)
  return element
}

/**
 * @param {string} field the API's field name, maybe a path such as "body.userEmail"
 * @returns {ContactField}
 */
function _contactField (field) {
  if (/email/i.test(field)) return 'userEmail'
  if (/name/i.test(field)) return 'userName'
  if (/query/i.test(field)) return 'userQuery'
  return 'other'
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function _el (doc, tag, className, text) {
  const element = doc.createElement(tag)
  if (className) element.className = className
  if (text !== undefined) element.textContent = text
  return element
}

/**
 * @param {Document} doc
 * @param {'You' | 'Assistant'} speaker
 */
function _speaker (doc, speaker) {
  return _el(doc, 'span', 'sr-only', `${speaker}: `)
}

/**
 * When a message was sent: the time on screen, the full date and time on hover, machine-readable in `datetime`.
 * @param {Document} doc
 * @param {number} timestamp epoch ms
 * @param {string} className
 */
function _time (doc, timestamp, className) {
  const date = new Date(timestamp)
  const time = _el(doc, 'time', `mt-1 block text-right text-xs ${className}`, SHORT_TIME.format(date))
  time.dateTime = date.toISOString()
  time.title = FULL_TIME.format(date)
  return time
}

/**
 * @param {Document} doc
 * @param {Entry} entry
 * @param {boolean} answered a later user turn exists: its quick replies are disabled
 * @returns {HTMLElement}
 */
function _entryNode (doc, entry, answered) {
  const stamped = Number.isFinite(entry.timestamp)
  if (entry.role === 'ticket') {
    const note = _el(doc, 'div', 'self-center rounded-xl border border-emerald-300 bg-emerald-50 px-4 py-2 text-sm text-emerald-950 dark:border-emerald-700 dark:bg-emerald-950 dark:text-emerald-50')
    note.setAttribute('data-ticket', entry.ticketId)
    // The reference and the reply address, restated: the user can check the address before closing the page.
    const where = entry.email ? ` at ${entry.email}` : ''
    note.append(_el(doc, 'p', '', `Ticket ${entry.ticketId}: our support team will email you${where}`))
    if (stamped) note.append(_time(doc, entry.timestamp, 'text-emerald-800 dark:text-emerald-200'))
    return note
  }
  if (entry.role === 'user') {
    const bubble = _el(doc, 'div', 'bubble bubble-user')
    bubble.append(_speaker(doc, 'You'), _el(doc, 'p', '', entry.text))
    if (stamped) bubble.append(_time(doc, entry.timestamp, 'text-on-accent'))
    return bubble
  }
  const bubble = _botBubble(doc, entry.text)
  if (entry.card?.subtitle) bubble.append(_el(doc, 'p', 'text-sm text-slate-700 dark:text-slate-300', entry.card.subtitle))
  if (entry.sources?.length) bubble.append(sourcesNode(doc, entry.sources))
  if (stamped) bubble.append(_time(doc, entry.timestamp, 'text-slate-600 dark:text-slate-400'))
  if (entry.rated) bubble.append(ratingControls(doc, entry.rated, entry.rating))
  if (!entry.card || entry.card.buttons.length === 0) return bubble
  const wrapper = _el(doc, 'div', 'flex flex-col gap-2')
  wrapper.append(bubble, _quickReplies(doc, entry.card, answered))
  return wrapper
}

/**
 * A response card's buttons: each shows its text and sends its value.
 * @param {Document} doc
 * @param {ReplyCard} card
 * @param {boolean} answered
 */
function _quickReplies (doc, card, answered) {
  const list = _el(doc, 'ul', 'flex flex-wrap gap-2')
  list.setAttribute('aria-label', 'Quick replies')
  for (const { text, value } of card.buttons) {
    const button = _el(doc, 'button', 'chip', text)
    button.type = 'button'
    button.dataset.replyText = text
    button.dataset.replyValue = value
    button.disabled = answered
    const item = _el(doc, 'li')
    item.append(button)
    list.append(item)
  }
  return list
}

/**
 * A bot message as paragraphs and real lists.
 * @param {Document} doc
 * @param {string} text
 */
function _botBubble (doc, text) {
  const bubble = _el(doc, 'div', 'bubble bubble-bot space-y-2')
  bubble.append(_speaker(doc, 'Assistant'))
  for (const block of toBlocks(text)) {
    if (block.type === 'p') {
      bubble.append(_el(doc, 'p', '', block.text))
      continue
    }
    const list = block.type === 'ol' ? _el(doc, 'ol', 'list-decimal space-y-1 pl-5') : _el(doc, 'ul', 'list-disc space-y-1 pl-5')
    if (block.type === 'ol' && block.start !== 1) list.setAttribute('start', String(block.start))
    for (const item of block.items) list.append(_el(doc, 'li', 'pl-1', item))
    bubble.append(list)
  }
  return bubble
}

/**
 * @param {Document} doc
 * @param {string[]} suggestions
 * @param {string} welcomeText
 */
function _welcome (doc, suggestions, welcomeText) {
  const wrapper = _el(doc, 'div', 'flex flex-col gap-2')
  wrapper.append(_botBubble(doc, welcomeText))
  if (suggestions.length > 0) {
    const list = _el(doc, 'ul', 'flex flex-wrap gap-2')
    list.setAttribute('aria-label', 'Suggested questions')
    for (const question of suggestions) {
      const chip = _el(doc, 'button', 'chip', question)
      chip.type = 'button'
      chip.dataset.suggestion = question
      const item = _el(doc, 'li')
      item.append(chip)
      list.append(item)
    }
    wrapper.append(list)
  }
  return wrapper
}

/**
 * @param {Document} doc
 * @param {string} question the user's last question, to start from
 */
function _escalationForm (doc, question) {
  const form = _el(doc, 'form', 'bubble bubble-bot w-full space-y-3 border border-slate-200 bg-white dark:border-slate-700 dark:bg-slate-900')
  form.noValidate = true
  form.setAttribute('aria-label', 'Contact the support team')
  form.append(_el(doc, 'p', 'font-medium', 'Leave your name and email and our support team will get back to you.'))
  const query = _contactInput(doc, 'userQuery', 'What do you need help with?', 'textarea', 'off', MAX_MESSAGE_CHARS)
  const queryInput = /** @type {HTMLTextAreaElement} */ (query.querySelector('textarea'))
  queryInput.value = question
  queryInput.rows = 2
  form.append(
    _contactInput(doc, 'userName', 'Name', 'text', 'name', NAME_MAX),
    _contactInput(doc, 'userEmail', 'Email', 'email', 'email', EMAIL_MAX),
    query
  )
  const other = _el(doc, 'p', 'hidden text-sm text-red-700 dark:text-red-300')
  other.dataset.errorFor = 'other'
  const submit = _el(doc, 'button', 'btn-primary', 'Contact support')
  submit.type = 'submit'
  form.append(other, submit)
  return form
}

/**
 * @param {Document} doc
 * @param {'userName' | 'userEmail' | 'userQuery'} name
 * @param {string} label
 * @param {string} type an input type, or 'textarea'
 * @param {string} autocomplete
 * @param {number} maxLength
 */
function _contactInput (doc, name, label, type, autocomplete, maxLength) {
  const id = `escalation-${name}`
  const wrapper = _el(doc, 'div', 'space-y-1')
  const labelNode = _el(doc, 'label', 'block text-sm font-medium', label)
  labelNode.htmlFor = id
  const input = type === 'textarea' ? _el(doc, 'textarea', 'field block w-full resize-y') : _el(doc, 'input', 'field w-full')
  if (input instanceof HTMLInputElement) input.type = type
  Object.assign(input, { id, name, autocomplete, maxLength, required: true })
  const error = _el(doc, 'p', 'hidden text-sm text-red-700 dark:text-red-300')
  error.id = `${id}-error`
  error.dataset.errorFor = name
  input.setAttribute('aria-describedby', error.id)
  wrapper.append(labelNode, input, error)
  return wrapper
}
