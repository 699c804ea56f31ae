// @ts-check
// Owns the DOM. main.js calls `render*` to show state and `bind*` to hear the user; nothing else touches the page.
// Every word from people and bots goes in through textContent, never as HTML.
import { toBlocks } from './format.js'

/**
 * @typedef {import('./store.js').Entry} Entry
 * @typedef {import('./http.js').FailureKind} FailureKind
 * @typedef {{ field: string, reason: string }} FieldError
 * @typedef {{ userName: string, userEmail: string }} Contact
 */

export const MAX_MESSAGE_CHARS = 1024 // Lex accepts at most 1,024 characters of text
export const COUNTER_THRESHOLD = 100 // show the counter within this many characters of the limit
const ENTER_KEY = 'Enter'
const WELCOME = 'Hi! I am the support assistant. I can check an order, explain your bill, tell you about our ' +
  'products and help with passwords or Wi-Fi. Ask me anything, or pick a question:'
const FAILURE_TEXT = /** @type {Record<FailureKind, string>} */ ({
  network: 'You seem to be offline, so the message was not sent. Check your connection and retry.',
  throttled: 'The assistant is busy right now. Wait a moment, then retry.',
  service: 'The assistant ran into a problem and could not answer. Please retry.',
  rejected: 'The assistant could not answer that message. Please retry.'
})
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const NAME_MAX = 100
const EMAIL_MAX = 254

export class View {
  /** @param {Document} doc */
  constructor (doc) {
    this.doc = doc
    this.scroller = _byId(doc, 'scroller')
    this.log = _byId(doc, 'log')
    this.typing = _byId(doc, 'typing')
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
    /** @type {HTMLFormElement | null} */
    this.escalationForm = null
    this.input.maxLength = MAX_MESSAGE_CHARS
    this.input.addEventListener('input', () => this._renderCounter())
  }

  /**
   * The page cannot work (no or bad config.js): say so where the chat would be, and lock the composer.
   * @param {string} message
   */
  renderConfigError (message) {
    this.configError.textContent = message
    this.configError.classList.remove('hidden')
    this.renderBusy(true)
    this.newConversationButton.disabled = true
    this.typing.classList.add('hidden')
  }

  /**
   * The whole conversation: welcome, suggestions, every entry, and the escalation form if it is pending.
   * @param {{ entries: Entry[], suggestions: string[], escalationOffered: boolean }} state
   */
  renderConversation ({ entries, suggestions, escalationOffered }) {
    this.escalationForm = null
    this.log.replaceChildren(_welcome(this.doc, suggestions), ...entries.map((entry) => _entryNode(this.doc, entry)))
    if (escalationOffered) this.renderEscalationForm()
    this._scrollToEnd()
  }

  /** @param {Entry} entry */
  renderEntry (entry) {
    this.log.append(_entryNode(this.doc, entry))
    this._scrollToEnd()
  }

  /**
   * While a request is in flight: typing indicator on, composer off. Focus comes back to the input after.
   * @param {boolean} busy
   */
  renderBusy (busy) {
    const hadFocus = this.doc.activeElement === this.input || this.doc.activeElement === this.sendButton
    this.input.disabled = busy
    this.sendButton.disabled = busy
    for (const chip of this.log.querySelectorAll('[data-suggestion]')) {
      /** @type {HTMLButtonElement} */ (chip).disabled = busy
    }
    this.typing.classList.toggle('hidden', !busy)
    if (busy) {
      this._scrollToEnd()
    } else if (hadFocus || this.doc.activeElement === this.doc.body || this.doc.activeElement === null) {
      this.input.focus()
    }
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

  /** Show the name and email form at the end of the conversation (moved there if it already exists). */
  renderEscalationForm () {
    this.escalationForm ??= _escalationForm(this.doc)
    this.log.append(this.escalationForm)
    this._scrollToEnd()
  }

  /** @param {boolean} busy */
  renderEscalationBusy (busy) {
    const form = this.escalationForm
    if (!form) return
    for (const control of form.querySelectorAll('input, button')) {
      /** @type {HTMLInputElement | HTMLButtonElement} */ (control).disabled = busy
    }
  }

  /**
   * Reasons next to the fields they concern (from the client check or the API's 4xx); others below the form.
   * @param {FieldError[]} errors
   */
  renderEscalationErrors (errors) {
    const form = this.escalationForm
    if (!form) return
    /** @type {Record<'userName' | 'userEmail' | 'other', string[]>} */
    const byField = { userName: [], userEmail: [], other: [] }
    for (const { field, reason } of errors) byField[_contactField(field)].push(reason)
    for (const key of /** @type {const} */ (['userName', 'userEmail', 'other'])) {
      const message = /** @type {HTMLElement} */ (form.querySelector(`[data-error-for="${key}"]`))
      message.textContent = byField[key].join(' ')
      message.classList.toggle('hidden', byField[key].length === 0)
      const input = form.querySelector(`input[name="${key}"]`)
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
      const contact = { userName: String(data.get('userName') ?? '').trim(), userEmail: String(data.get('userEmail') ?? '').trim() }
      const errors = checkContact(contact)
      this.renderEscalationErrors(errors)
      if (errors.length === 0) handler(contact)
    })
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
 * The client-side check of the escalation form (the API checks again).
 * @param {Contact} contact
 * @returns {FieldError[]}
 */
export function checkContact ({ userName, userEmail }) {
  /** @type {FieldError[]} */
  const errors = []
  if (!userName) errors.push({ field: 'userName', reason: 'Please enter your name.' })
  else if (userName.length > NAME_MAX) errors.push({ field: 'userName', reason: `Use at most ${NAME_MAX} characters.` })
  if (!userEmail) errors.push({ field: 'userEmail', reason: 'Please enter your email address.' })
  else if (userEmail.length > EMAIL_MAX || !EMAIL_PATTERN.test(userEmail)) {
    errors.push({ field: 'userEmail', reason: 'Enter an email address like name@example.com.' })
  }
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
 * @returns {'userName' | 'userEmail' | 'other'}
 */
function _contactField (field) {
  if (/email/i.test(field)) return 'userEmail'
  if (/name/i.test(field)) return 'userName'
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
 * @param {Document} doc
 * @param {Entry} entry
 */
function _entryNode (doc, entry) {
  if (entry.role === 'ticket') {
    const note = _el(doc, 'div', 'self-center rounded-xl border border-emerald-300 bg-emerald-50 px-4 py-2 text-sm text-emerald-950 dark:border-emerald-700 dark:bg-emerald-950 dark:text-emerald-50')
    note.setAttribute('data-ticket', entry.ticketId)
    note.textContent = `Ticket ${entry.ticketId}: our support team will email you`
    return note
  }
  if (entry.role === 'user') {
    const bubble = _el(doc, 'div', 'bubble bubble-user')
    bubble.append(_speaker(doc, 'You'), _el(doc, 'p', '', entry.text))
    return bubble
  }
  return _botBubble(doc, entry.text)
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
 */
function _welcome (doc, suggestions) {
  const wrapper = _el(doc, 'div', 'flex flex-col gap-2')
  wrapper.append(_botBubble(doc, WELCOME))
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

/** @param {Document} doc */
function _escalationForm (doc) {
  const form = _el(doc, 'form', 'bubble bubble-bot w-full space-y-3 border border-slate-200 bg-white dark:border-slate-700 dark:bg-slate-900')
  form.noValidate = true
  form.setAttribute('aria-label', 'Contact the support team')
  form.append(_el(doc, 'p', 'font-medium', 'Leave your name and email and our support team will get back to you.'))
  form.append(
    _contactInput(doc, 'userName', 'Name', 'text', 'name', NAME_MAX),
    _contactInput(doc, 'userEmail', 'Email', 'email', 'email', EMAIL_MAX)
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
 * @param {'userName' | 'userEmail'} name
 * @param {string} label
 * @param {string} type
 * @param {string} autocomplete
 * @param {number} maxLength
 */
function _contactInput (doc, name, label, type, autocomplete, maxLength) {
  const id = `escalation-${name}`
  const wrapper = _el(doc, 'div', 'space-y-1')
  const labelNode = _el(doc, 'label', 'block text-sm font-medium', label)
  labelNode.htmlFor = id
  const input = _el(doc, 'input', 'field w-full')
  Object.assign(input, { id, name, type, autocomplete, maxLength, required: true })
  const error = _el(doc, 'p', 'hidden text-sm text-red-700 dark:text-red-300')
  error.id = `${id}-error`
  error.dataset.errorFor = name
  input.setAttribute('aria-describedby', error.id)
  wrapper.append(labelNode, input, error)
  return wrapper
}
