/* /trade/tenders/{id}/auction — the online ascending auction (网络竞价) of an asset
 * sale (国有产权, 土地出让, 排污权): GET /api/v1/trade/tenders/{id}/auction.
 *
 * Everyone sees the current price, the countdown (挂牌 end, then the 竞价 end, which
 * moves on a late bid: 延时), the reserve, the increment and the history by anonymous
 * 竞买号. A bidding company (roles bidder, company) also sees its own number and
 * whether it leads, and bids with three buttons: +1, +2 or +5 increments above the
 * current price (POST …/auction/bids). After the result: the winner, the price and
 * 增幅 = (成交价 − 起拍价) ÷ 起拍价.
 *
 * Live: events on the SSE topic tender.<id> (logged-in users) reload the state; a
 * slow poll covers anonymous visitors and lost connections; the countdown runs on
 * the server's clock (offset taken from each answer). */
import { get, post } from '../api.js';
import { fmtDateTime, h, notice, pageTitle, replace } from '../dom.js';

const BID_ROLES = ['bidder', 'company'];
const STEPS = [1, 2, 5];
const POLL_MS = 5000; // without a live stream
const SAFETY_MS = 30000; // with one
const PHASES = {
  pending: '未开始',
  listing: '挂牌期',
  auction: '竞价中',
  ended: '已截止，等待结果',
  closed: '已结束',
};

function loadCss() {
  if (document.querySelector('link[data-css="auction"]')) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href: '/css/auction.css', dataset: { css: 'auction' } }));
}

/** fen → "¥1,234,567.89" */
export function yuan(fen) {
  if (fen === null || fen === undefined) return '—';
  const neg = fen < 0;
  const a = Math.abs(fen);
  const whole = Math.floor(a / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}¥${whole}.${String(a % 100).padStart(2, '0')}`;
}

/** seconds → "29:59" or "1:02:03" */
export function clock(s) {
  s = Math.max(0, Math.floor(s));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}

const dur = (s) => (s % 60 ? `${s} 秒` : `${s / 60} 分钟`);

export async function render(main, ctx) {
  loadCss();
  const id = ctx.route.id;
  ctx.setTitle('网络竞价');
  if (!/^\d+$/.test(id)) {
    replace(main, pageTitle('项目不存在'), notice('error', '没有这个竞价项目。'));
    return;
  }
  replace(main, h('p', { class: 'loading' }, '正在加载竞价…'));
  const canBid = ctx.user && BID_ROLES.includes(ctx.user.role);

  let st = null;
  let offset = 0; // server clock − client clock, ms
  let busy = false;
  let lastSeq = '';
  let lastPhase = '';

  const title = h('h1', { tabindex: '-1', class: 'page-title' }, '网络竞价');
  const sub = h('p', { class: 'page-sub' });
  const banner = h('div', { class: 'auc-banner', 'aria-live': 'polite' });
  const priceLabel = h('div', { class: 'auc-price-label' }, '当前价');
  const price = h('div', { class: 'auc-price', id: 'auc-price' });
  const leader = h('div', { class: 'auc-leader' });
  const phase = h('span', { class: 'auc-phase' });
  const countdown = h('div', { class: 'auc-countdown', id: 'auc-countdown', role: 'timer', 'aria-live': 'off' });
  const endsAt = h('div', { class: 'auc-ends muted' });
  const mine = h('div', { class: 'auc-mine', id: 'auc-mine', 'aria-live': 'polite' });
  const actions = h('div', { class: 'auc-actions' });
  const facts = h('dl', { class: 'auc-facts' });
  const result = h('div', { class: 'auc-result' });
  const historyBody = h('tbody');
  const historyEmpty = h('p', { class: 'muted' }, '尚无报价。');
  const historyTable = h(
    'div',
    // Focusable: the history scrolls sideways on a phone and holds no links.
    { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': '报价记录' },
    h(
      'table',
      { class: 'table auc-history', id: 'auc-history' },
      h('caption', { class: 'visually-hidden' }, '报价记录（最新在前）'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, '竞买号'), h('th', { scope: 'col', class: 'num' }, '报价'), h('th', { scope: 'col' }, '阶段'), h('th', { scope: 'col' }, '时间'))),
      historyBody,
    ),
  );

  replace(
    main,
    h('div', { class: 'page-head' }, title, sub),
    banner,
    h(
      'div',
      { class: 'auc-grid' },
      h(
        'section',
        { class: 'panel auc-board', 'aria-label': '竞价看板' },
        h('div', { class: 'auc-board-top' }, phase, countdown),
        endsAt,
        priceLabel,
        price,
        leader,
        mine,
        actions,
        result,
      ),
      h('section', { class: 'panel auc-info', 'aria-label': '竞价规则' }, h('h2', { class: 'panel-title' }, '竞价规则'), facts),
    ),
    h('section', { class: 'section' }, h('h2', { class: 'section-title' }, '报价记录'), historyEmpty, historyTable),
  );

  const fact = (k, v) => [h('dt', null, k), h('dd', null, v)];

  function draw() {
    if (!st) return;
    ctx.setTitle(`网络竞价 · ${st.title}`);
    title.textContent = st.title;
    replace(sub, `${st.tender_no} · ${st.kind_label} · `, h('span', { class: `auc-status auc-status-${st.status}` }, st.status_label));
    const live = st.phase === 'listing' || st.phase === 'auction';
    phase.textContent = PHASES[st.phase] || st.phase;
    phase.className = `auc-phase auc-phase-${st.phase}`;
    priceLabel.textContent = st.result && st.result.status === 'awarded' ? '成交价' : st.price_fen ? '当前价' : '起拍价';
    if (lastPhase && lastPhase !== st.phase) replace(banner); // an old 已出价 no longer applies
    lastPhase = st.phase;
    price.textContent = yuan(st.price_fen ?? st.reserve_fen);
    leader.textContent = st.leader_no ? `${st.phase === 'closed' ? '竞得' : '领先'}竞买号：${st.leader_no}　增幅 ${st.premium || '0.00%'}` : '暂无报价';
    endsAt.textContent = live ? `${st.phase === 'auction' ? '竞价' : '挂牌'}截止 ${fmtDateTime(st.ends_at)}` : '';
    tick();

    replace(
      facts,
      fact('起拍价', yuan(st.reserve_fen)),
      fact('加价幅度', yuan(st.increment_fen)),
      fact('保证金', yuan(st.deposit_fen)),
      fact('挂牌截止', fmtDateTime(st.deadline_at)),
      fact('竞价时长', `${st.auction_minutes} 分钟`),
      fact('延时规则', `竞价截止前 ${dur(st.extend_seconds)}内有新报价，截止时间延至该报价后 ${dur(st.extend_seconds)}`),
      fact('竞买人', `${st.bidders_count} 家（以竞买号显示）`),
      fact('报价次数', String(st.bids_count)),
    );

    // The caller's own position.
    if (st.me) {
      replace(
        mine,
        h('span', { class: 'auc-mine-no' }, st.me.bidder_no ? `您的竞买号：${st.me.bidder_no}` : '您尚未报价'),
        h('strong', { class: st.me.leading || st.me.won ? 'auc-lead' : 'auc-behind' }, st.me.message),
      );
    } else if (!ctx.user && live) {
      replace(mine, h('a', { href: `/login?next=${encodeURIComponent(location.pathname)}` }, '登录后参与竞价'));
    } else {
      replace(mine);
    }

    // Bid buttons: +1/+2/+5 increments above the current price (the first offer starts at the reserve).
    if (canBid && live && st.me && st.me.deposit_paid) {
      const base = st.min_bid_fen;
      replace(
        actions,
        STEPS.map((k) => {
          const amount = base + (k - 1) * st.increment_fen;
          return h(
            'button',
            {
              type: 'button',
              class: ['btn', k === 1 ? 'btn-primary' : 'btn-ghost', 'auc-bid'],
              dataset: { steps: String(k), amount: String(amount) },
              disabled: busy || st.me.leading,
              on: { click: () => bid(amount) },
            },
            h('span', { class: 'auc-bid-step' }, st.price_fen ? `+${k} 档` : k === 1 ? '按起拍价' : `+${k - 1} 档`),
            h('span', { class: 'auc-bid-amount' }, yuan(amount)),
          );
        }),
      );
    } else {
      replace(actions);
    }

    // The result.
    if (st.result && st.result.status === 'awarded') {
      replace(
        result,
        h(
          'div',
          { class: 'notice notice-ok auc-result-box', role: 'status' },
          h('strong', null, '竞价结束：成交'),
          h('p', null, `竞得人：${st.result.company_name}（竞买号 ${st.result.bidder_no ?? '—'}）`),
          h('p', null, `成交价：${yuan(st.result.award_fen)}　增幅：${st.result.premium}`),
          h('p', { class: 'muted' }, '增幅 =（成交价 − 起拍价）÷ 起拍价'),
        ),
      );
    } else if (st.result) {
      replace(result, notice('warn', h('strong', null, st.result.status === 'failed' ? '流标' : '已终止'), st.result.reason ? `：${st.result.reason}` : ''));
    } else {
      replace(result);
    }

    // History, newest first.
    historyEmpty.hidden = st.history.length > 0;
    historyTable.hidden = st.history.length === 0;
    replace(
      historyBody,
      st.history.map((b) =>
        h(
          'tr',
          { class: b.mine ? 'auc-row-mine' : null },
          h('td', null, `${b.bidder_no}`, b.mine ? h('span', { class: 'badge auc-me' }, '我') : null),
          h('td', { class: 'num' }, yuan(b.amount_fen)),
          h('td', null, b.phase === 'listing' ? '挂牌' : '竞价'),
          h('td', null, fmtDateTime(b.at)),
        ),
      ),
    );
  }

  function left() {
    if (!st || !(st.phase === 'listing' || st.phase === 'auction')) return 0;
    return (Date.parse(st.ends_at) - (Date.now() + offset)) / 1000;
  }

  let reloadAtZero = false;
  function tick() {
    if (!st) return;
    const s = left();
    const live = st.phase === 'listing' || st.phase === 'auction';
    countdown.textContent = live ? clock(s) : '';
    countdown.classList.toggle('auc-urgent', live && s <= Math.min(60, st.extend_seconds));
    // At zero the server moves the auction on at the next request.
    if (live && s <= 0 && !reloadAtZero) {
      reloadAtZero = true;
      setTimeout(load, 1200);
    }
  }

  async function load() {
    try {
      const t0 = Date.now();
      const s = await get(`/api/v1/trade/tenders/${id}/auction`, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      offset = Date.parse(s.now) + 500 - (t0 + Date.now()) / 2;
      st = s;
      reloadAtZero = false;
      draw();
      return true;
    } catch (e) {
      if (ctx.signal.aborted) return false;
      if (!st) replace(main, pageTitle('网络竞价'), notice('error', e.status === 404 ? '没有这个竞价项目。' : e.message));
      return false;
    }
  }

  async function bid(amount) {
    if (busy) return;
    busy = true;
    draw();
    try {
      st = await post(`/api/v1/trade/tenders/${id}/auction/bids`, { amount_fen: amount });
      replace(banner, notice('ok', `已出价 ${yuan(amount)}`));
    } catch (e) {
      replace(banner, notice('error', e.message));
      await load();
    } finally {
      busy = false;
      draw();
    }
  }

  if (!(await load()) || ctx.signal.aborted) return;

  // Live: the tender's SSE topic (logged in: /api/v1/events; anonymous visitors: the
  // public stream of the same topic); polling stays as a slow safety net, and takes
  // over while the stream is down.
  let sseOpen = false;
  let lastLoad = Date.now();
  const timer = setInterval(tick, 250);
  const poll = setInterval(() => {
    if (Date.now() - lastLoad >= (sseOpen ? SAFETY_MS : POLL_MS)) {
      lastLoad = Date.now();
      load();
    }
  }, 1000);
  ctx.signal.addEventListener('abort', () => {
    clearInterval(timer);
    clearInterval(poll);
  });
  if (typeof EventSource !== 'undefined') {
    const es = new EventSource(ctx.user ? `/api/v1/events/tender.${id}` : `/api/v1/trade/tenders/${id}/hall/live`);
    ctx.signal.addEventListener('abort', () => es.close());
    es.addEventListener('open', () => {
      sseOpen = true;
    });
    es.addEventListener('error', () => {
      sseOpen = false;
    });
    const onEvent = (ev) => {
      if (ev.lastEventId && ev.lastEventId === lastSeq) return;
      lastSeq = ev.lastEventId;
      lastLoad = Date.now();
      load();
    };
    for (const k of ['auction_bid', 'auction_started', 'auction_result']) es.addEventListener(k, onEvent);
  }
}
