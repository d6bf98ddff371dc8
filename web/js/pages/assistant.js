/* /assistant?item=CODE — the 智慧客服 chat (POST /api/v1/assistant).
 *
 * The resident types a question (or taps an example); the answer comes from the
 * service item's 办事指南 with a link to the guide, buttons for the other
 * items it might mean, and the hall's phone number when the assistant does not
 * know. ?item=CODE (the guide page's 问问智能客服) sets the item being asked
 * about; after that, the item of the last answer is the context, so a
 * follow-up like "多少钱？" needs no item name. The message list is an
 * aria-live log; nothing is kept after the page is left. */
import { get, post } from '../api.js';
import { phoneLinks } from '../catalog.js';
import { h, notice, replace } from '../dom.js';

const MAX_BYTES = 500; // the API's limit on a question
const CODE_RE = /^\d{6}-[A-Z]{2,8}-\d{6}$/;

const EXAMPLES_GENERAL = [
  '换身份证要带什么材料？',
  '护照多久能办好？',
  '居住证收费吗？',
  '社保卡在哪里办？',
  '什么人可以申请低保？',
  '营业执照怎么注销？',
];
const EXAMPLES_ITEM = ['要带什么材料？', '多久能办好？', '收费吗？', '在哪里办？', '需要什么条件？', '怎么办理？'];

export async function render(main, ctx) {
  ctx.setTitle('智能客服');
  const state = { context: null, lastQuestion: '', busy: false }; // context: {code, name}

  const log = h('ol', {
    class: 'chat-log',
    id: 'chat-log',
    'aria-live': 'polite',
    'aria-relevant': 'additions',
    'aria-label': '对话记录',
  });
  const contextBox = h('div', { class: 'chat-context', id: 'chat-context', hidden: true });
  const examples = h('ul', { class: 'chips chat-examples', id: 'chat-examples', 'aria-labelledby': 'chat-examples-title' });
  const input = h('input', {
    id: 'ask-input',
    name: 'question',
    type: 'text',
    class: 'search-input chat-input',
    autocomplete: 'off',
    maxlength: '200',
    enterkeyhint: 'send',
    placeholder: '例如：换驾照要带什么？',
    'aria-describedby': 'ask-hint ask-error',
  });
  const error = h('p', { class: 'field-error', id: 'ask-error', hidden: true, role: 'alert' });
  const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'ask-send' }, '发送');
  const form = h(
    'form',
    { class: 'chat-form', id: 'ask-form', on: { submit: onSubmit }, novalidate: true },
    h('label', { for: 'ask-input', class: 'chat-label' }, '您的问题'),
    h('div', { class: 'chat-form-row' }, input, sendBtn),
    h('p', { class: 'hint', id: 'ask-hint' }, '可以问所需材料、办理时限、收费、地点、条件和流程。请勿输入身份证号、手机号等个人信息。'),
    error,
  );

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { class: 'page-title', tabindex: '-1' }, '智能客服'),
      h('p', { class: 'page-sub' }, '您好！我从办事指南里为您查找答案，每个回答都附有指南链接，请以指南为准。'),
    ),
    h(
      'div',
      { class: 'chat' },
      contextBox,
      log,
      h('h2', { class: 'chat-examples-title', id: 'chat-examples-title' }, '您可以这样问'),
      examples,
      form,
    ),
  );

  const code = (ctx.params.get('item') || '').trim();
  if (code && CODE_RE.test(code)) {
    try {
      const it = await get(`/api/v1/items/${encodeURIComponent(code)}`, { signal: ctx.signal });
      setContext({ code: it.code, name: it.name });
    } catch (e) {
      if (e.name === 'AbortError') return;
      log.append(botMessage(notice('warn', `没有找到编码为 ${code} 的事项，您可以直接提问。`)));
    }
  } else if (code) {
    log.append(botMessage(notice('warn', '链接中的事项编码不正确，您可以直接提问。')));
  }
  if (!state.context) renderExamples();
  input.focus({ preventScroll: true });

  function setContext(c) {
    state.context = c;
    if (!c) {
      contextBox.hidden = true;
      contextBox.replaceChildren();
      renderExamples();
      return;
    }
    replace(
      contextBox,
      h('span', { class: 'chat-context-label' }, '正在咨询：'),
      h('a', { href: `/items/${encodeURIComponent(c.code)}`, class: 'chat-context-name', id: 'context-item', dataset: { code: c.code } }, c.name),
      h(
        'button',
        { type: 'button', class: 'btn btn-ghost btn-small', id: 'context-clear', on: { click: () => setContext(null) } },
        '换个事项',
      ),
    );
    contextBox.hidden = false;
    renderExamples();
  }

  function renderExamples() {
    const list = state.context ? EXAMPLES_ITEM : EXAMPLES_GENERAL;
    replace(
      examples,
      list.map((q) =>
        h('li', null, h('button', { type: 'button', class: 'chip chat-example', on: { click: () => ask(q) } }, q)),
      ),
    );
  }

  function onSubmit(ev) {
    ev.preventDefault();
    ask(input.value.trim());
  }

  function showError(msg) {
    error.textContent = msg;
    error.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  async function ask(question, itemCode) {
    if (state.busy) return;
    if (!question) {
      showError('请输入您的问题');
      input.focus();
      return;
    }
    if (new TextEncoder().encode(question).length > MAX_BYTES) {
      showError('问题太长了，请简短一些（约 160 个汉字以内）');
      input.focus();
      return;
    }
    showError('');
    state.busy = true;
    state.lastQuestion = question;
    sendBtn.disabled = true;
    input.value = '';
    log.append(h('li', { class: 'chat-msg chat-user' }, h('span', { class: 'visually-hidden' }, '我：'), h('p', null, question)));
    const pending = botMessage(h('p', { class: 'loading' }, '正在查找…'));
    pending.setAttribute('aria-busy', 'true');
    log.append(pending);
    scrollToEnd(pending);
    const context = itemCode || (state.context && state.context.code) || undefined;
    try {
      const a = await post('/api/v1/assistant', { question, item: context }, { signal: ctx.signal });
      pending.replaceWith(answerMessage(a));
      if (a.item) setContext({ code: a.item, name: a.item_name });
    } catch (e) {
      if (e.name === 'AbortError') return;
      pending.replaceWith(botMessage(notice('error', e.message || '暂时无法回答，请稍后再试。')));
    } finally {
      state.busy = false;
      sendBtn.disabled = false;
    }
    scrollToEnd(log.lastElementChild);
    if (!ctx.signal.aborted) input.focus({ preventScroll: true });
  }

  function answerMessage(a) {
    const parts = [h('p', { class: 'chat-answer' }, phoneLinks(a.answer))];
    if (a.link) {
      parts.push(
        h(
          'p',
          { class: 'chat-guide' },
          h('a', { href: a.link, class: 'chat-link', dataset: { code: a.item } }, `查看「${a.item_name}」办事指南`),
        ),
      );
    }
    if (a.alternatives && a.alternatives.length) {
      const q = state.lastQuestion;
      parts.push(
        h(
          'div',
          { class: 'chat-alts' },
          h('p', { class: 'chat-alts-title' }, '您问的也可能是：'),
          h(
            'ul',
            { class: 'chat-alt-list' },
            a.alternatives.map((alt) =>
              h(
                'li',
                null,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-ghost chat-alt',
                    dataset: { code: alt.code },
                    'aria-label': `改问「${alt.name}」`,
                    on: { click: () => ask(q, alt.code) },
                  },
                  alt.name,
                ),
              ),
            ),
          ),
        ),
      );
    }
    const li = botMessage(...parts);
    li.dataset.intent = a.intent;
    if (a.item) li.dataset.item = a.item;
    return li;
  }
}

function botMessage(...children) {
  return h('li', { class: 'chat-msg chat-bot' }, h('span', { class: 'visually-hidden' }, '智能客服：'), ...children);
}

function scrollToEnd(el) {
  if (el && el.scrollIntoView) el.scrollIntoView({ block: 'nearest' });
}
