/* /trade/tenders/{id}/hall — the remote opening hall (不见面开标), live.
 *
 * Everyone may watch (anonymous too): the tender, a big countdown (to the opening,
 * to the end of decryption or of the objection window), the step indicator, the
 * companies signed in, the 唱标 table filling as bids are decrypted, the drawn
 * benchmark factor, objections with the host's replies, confirmations and the
 * signed record. Bidders get their controls (sign in; choose the plaintext they
 * decrypted at home with `openssl cms -decrypt`, which the page base64s and posts —
 * the private key never leaves their machine; object; confirm the record with a
 * signature), trading staff the host's controls for each step.
 *
 * Live: GET /api/v1/trade/tenders/{id}/hall/live (SSE). Events carry the hall's
 * own seq; the page applies each in order to its copy of the hall and, when it
 * sees a gap or (re)connects, catches up from /hall/events?after=<last seq>. Only
 * the acting user reloads the whole hall after its own action, so 10,000 watchers
 * cost the server one SSE write each per event, not a request. */
import { get, post } from '../api.js';
import { fmtDateTime, h, notice, pageTitle, replace } from '../dom.js';

const STEP_HINT = {
  waiting: '开标时间到后，主持人开始开标。',
  signin: '投标人签到中。签到后等待主持人宣布开始解密。',
  decrypting: '请各投标人在倒计时结束前，用本单位证书私钥在本地解密投标文件并提交解密结果。',
  announced: '解密结束，唱标结果已公布。',
  objections: '投标人可在倒计时结束前对开标过程提出异议，主持人当场答复。',
  confirming: '开标记录已生成，请各投标人用数字证书签名确认。',
  closed: '开标结束。',
};
const STEP_EVENTS = new Set(['hall_started', 'decrypt_started', 'decrypt_closed', 'objections_opened', 'confirm_started', 'closed']);
const BID_STATUS = { opened: '已唱标', invalid: '无效', not_decrypted: '未解密（视为撤回）', sealed: '待解密' };
const EVENT_TEXT = {
  hall_started: (d) => `主持人${d.host ? ` ${d.host}` : ''}宣布开标，投标人开始签到。`,
  signed_in: (d) => `${d.company_name} 已签到（共 ${d.signins} 家）。`,
  decrypt_started: (d) => `开始解密，截止 ${fmtDateTime(d.decrypt_until)}。`,
  bid_opened: (d) => `唱标：${d.company_name} 报价 ${d.price ? `¥${money(d.price)}` : '—'}${d.via === 'backup' ? '（备用解密）' : ''}。`,
  bid_not_decrypted: (d) => `${d.company_name} 未在规定时间内解密，视为撤回投标。`,
  backup_used: (d) => `因系统原因，${d.company_name || '一家投标人'} 的投标经备用密钥解密（${d.reason}）。`,
  factor_drawn: (d) => `抽取基准价下浮系数：${Number(d.benchmark_factor).toFixed(4)}。`,
  decrypt_closed: (d) => `解密结束：唱标 ${d.opened} 家，未解密 ${d.not_decrypted} 家。`,
  objections_opened: (d) => `异议环节开始，截止 ${fmtDateTime(d.objections_until)}。`,
  objection: (d) => `${d.company_name} 提出异议。`,
  reply: () => '主持人答复了一条异议。',
  confirm_started: () => '开标记录已生成，请投标人签名确认。',
  confirmed: (d) => `${d.company_name} 已确认开标记录。`,
  closed: (d) => `开标结束：有效唱标 ${d.opened} 家，${d.confirmed} 家确认。`,
  failed: (d) => `流标：${d.reason}。`,
  warning: (d) => `提示：${d.message}`,
};

function money(s) {
  const [i, f] = String(s).split('.');
  return `${i.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${(f || '00').padEnd(2, '0')}`;
}

function ensureCss() {
  if (document.querySelector('link[data-hall-css]')) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href: '/css/hall.css', dataset: { hallCss: '' } }));
}

/** File → base64 (without the data: prefix), for plaintexts up to 48 MiB. */
function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

function pad(n) {
  return String(n).padStart(2, '0');
}

export async function render(main, ctx) {
  ensureCss();
  const id = ctx.route.id;
  ctx.setTitle('不见面开标');
  if (!/^\d+$/.test(id)) {
    replace(main, pageTitle('开标大厅不存在'), notice('error', '项目编号无效。'));
    return;
  }
  const base = `/api/v1/trade/tenders/${id}/hall`;
  let hall;
  try {
    hall = await get(base, { signal: ctx.signal });
  } catch (e) {
    if (e.name === 'AbortError') return;
    replace(main, pageTitle('开标大厅'), notice('error', e.status === 404 ? '没有这个项目的开标大厅。' : e.message));
    return;
  }
  let offset = Date.parse(hall.now) - Date.now(); // server clock minus ours
  let lastSeq = hall.last_seq;
  const feed = [];

  // ---- layout ----
  const title = pageTitle(hall.tender.title, `${hall.tender.tender_no} · ${hall.tender.buyer}`);
  const live = h('span', { class: 'hall-live', role: 'status' }, '连接中…');
  const steps = h('ol', { class: 'hall-steps', 'aria-label': '开标流程' });
  const clockLabel = h('div', { class: 'hall-clock-label' });
  const clock = h('div', { class: 'hall-clock', 'aria-live': 'off' });
  const stepHint = h('p', { class: 'hall-hint' });
  const banner = h('div', { class: 'hall-banner', 'aria-live': 'polite' });
  const controls = h('section', { class: 'hall-controls', 'aria-label': '操作' });
  const factor = h('p', { class: 'hall-factor', hidden: true });
  const signins = h('div', { class: 'hall-signins' });
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'table hall-table' },
    h('caption', null, '唱标'),
    h(
      'thead',
      null,
      h('tr', null, ...['序号', '投标人', '投标报价（元）', '工期（天）', '质量', '项目经理', '保证金', '状态'].map((t) => h('th', { scope: 'col' }, t))),
    ),
    tbody,
  );
  const objections = h('div', { class: 'hall-objections' });
  const confirms = h('div', { class: 'hall-confirms' });
  const record = h('div', { class: 'hall-record' });
  const feedList = h('ol', { class: 'hall-feed', 'aria-live': 'polite', 'aria-label': '大厅动态' });

  replace(
    main,
    h('div', { class: 'hall' },
      h('div', { class: 'hall-head' }, title, live),
      h('p', { class: 'hall-meta' }, `${hall.tender.kind_label} · ${hall.tender.method_label}${hall.tender.budget_fen ? ` · 最高限价 ¥${money(hall.tender.budget)}` : ''} · 开标时间 ${fmtDateTime(hall.tender.deadline_at)}`),
      steps,
      h('div', { class: 'hall-countdown' }, clockLabel, clock),
      stepHint,
      banner,
      controls,
      h('section', { class: 'hall-section' }, h('h2', null, '签到'), signins),
      h('section', { class: 'hall-section' }, factor, h('div', { class: 'table-scroll' }, table)),
      h('section', { class: 'hall-section' }, h('h2', null, '异议'), objections),
      h('section', { class: 'hall-section' }, h('h2', null, '开标记录'), record, confirms),
      h('section', { class: 'hall-section' }, h('h2', null, '大厅动态'), feedList),
    ),
  );

  // ---- drawing ----
  function drawSteps() {
    const order = hall.steps.map((s) => s.status);
    const cur = order.indexOf(hall.status);
    replace(steps, ...hall.steps.map((s, i) => h('li', {
      class: i < cur ? 'done' : i === cur ? 'current' : '',
      'aria-current': i === cur ? 'step' : null,
    }, s.label)));
    stepHint.textContent = hall.tender.status === 'failed' ? '本项目已流标。' : STEP_HINT[hall.status] || '';
  }

  function tick() {
    const c = hall.countdown;
    if (!c) {
      clockLabel.textContent = hall.status === 'closed' ? '开标已结束' : hall.tender.status_label || '';
      clock.textContent = '—';
      clock.classList.remove('hall-clock-urgent');
      return;
    }
    const left = Math.max(0, Math.floor((Date.parse(c.until) - (Date.now() + offset)) / 1000));
    clockLabel.textContent = c.label;
    const d = Math.floor(left / 86400);
    const hh = Math.floor((left % 86400) / 3600);
    clock.textContent = `${d ? `${d}天 ` : ''}${pad(hh)}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
    clock.classList.toggle('hall-clock-urgent', left < 300);
  }

  function drawSignins() {
    if (!hall.signins.length) {
      replace(signins, h('p', { class: 'muted' }, hall.status === 'waiting' ? '开标开始后显示签到的投标人。' : '尚无投标人签到。'));
      return;
    }
    replace(signins,
      h('p', null, `已签到 ${hall.signins.length} 家`, hall.sealed_count ? `，待解密 ${hall.sealed_count} 份` : ''),
      h('ul', { class: 'hall-chips' }, ...hall.signins.map((s) => h('li', null, s.company_name))));
  }

  function drawBids() {
    // data-label: at phone width each row becomes a card with its labels (hall.css).
    const rows = hall.bids.map((b, i) => h('tr', { class: `bid-${b.status}`, dataset: { bid: String(b.bid_id) } },
      h('td', { 'data-label': '序号' }, String(i + 1)),
      h('th', { scope: 'row', 'data-label': '投标人' }, b.company_name),
      h('td', { class: 'num', 'data-label': '投标报价（元）' }, b.price ? money(b.price) : '—'),
      h('td', { class: 'num', 'data-label': '工期（天）' }, b.duration_days ? String(b.duration_days) : '—'),
      h('td', { 'data-label': '质量' }, b.quality || '—'),
      h('td', { 'data-label': '项目经理' }, b.project_manager || '—'),
      h('td', { 'data-label': '保证金' }, b.deposit_ref || '—'),
      h('td', { 'data-label': '状态' }, BID_STATUS[b.status] || b.status, b.via === 'backup' ? '（备用解密）' : '', b.invalid_reason && b.status === 'invalid' ? h('span', { class: 'muted' }, ` ${b.invalid_reason}`) : null)));
    if (!rows.length) rows.push(h('tr', null, h('td', { colspan: '8', class: 'muted' }, hall.status === 'decrypting' ? '等待投标人解密…' : '尚未唱标。')));
    replace(tbody, ...rows);
    const f = hall.tender.benchmark_factor;
    factor.hidden = !f;
    if (f) factor.textContent = `基准价下浮系数（现场随机抽取）：${Number(f).toFixed(4)}`;
  }

  function drawObjections() {
    if (!hall.objections.length) {
      replace(objections, h('p', { class: 'muted' }, '暂无异议。'));
      return;
    }
    replace(objections, h('ol', null, ...hall.objections.map((o) => h('li', { class: 'hall-objection' },
      h('p', null, h('strong', null, o.company_name || '投标人'), h('span', { class: 'muted' }, ` ${fmtDateTime(o.at)}`)),
      h('p', { class: 'hall-objection-text' }, o.text),
      o.reply ? h('p', { class: 'hall-reply' }, h('strong', null, '主持人答复：'), o.reply) : replyForm(o)))));
  }

  function drawRecord() {
    const r = hall.record;
    if (!r) {
      replace(record, h('p', { class: 'muted' }, '异议环节结束后生成开标记录。'));
    } else {
      replace(record,
        h('p', null, h('a', { href: r.url, 'data-native': '', target: '_blank', rel: 'noopener' }, '查看开标记录（PDF）')),
        h('p', { class: 'hall-mono' }, `SHA-256：${r.sha256}`),
        r.signature ? h('p', { class: 'hall-mono' }, `交易中心签名（Ed25519，密钥 ${r.key_id}）：${r.signature}`) : null);
    }
    replace(confirms, hall.confirmations.length
      ? h('p', null, `已确认：${hall.confirmations.map((c) => c.company_name).join('、')}`)
      : null);
  }

  function drawFeed() {
    replace(feedList, ...feed.slice(-30).reverse().map((f) => h('li', null, h('time', null, fmtDateTime(f.at).slice(-8)), ' ', f.text)));
  }

  // ---- controls ----
  function say(kind, text) {
    replace(banner, notice(kind, text));
  }

  async function act(action, body) {
    try {
      await post(`${base}/${action}`, body || {});
      say('ok', '操作成功。');
      await reload();
      return true;
    } catch (e) {
      say('error', e.message || '操作失败');
      return false;
    }
  }

  function btn(label, onClick, cls = 'btn btn-primary') {
    return h('button', { type: 'button', class: cls, on: { click: onClick } }, label);
  }

  function minutesInput(def) {
    return h('input', { type: 'number', min: '1', max: '120', value: String(def), class: 'hall-minutes', 'aria-label': '时长（分钟）' });
  }

  function replyForm(o) {
    if (hall.me.role !== 'host' || hall.status !== 'objections') return h('p', { class: 'muted' }, '待主持人答复');
    const ta = h('textarea', { rows: '2', maxlength: '1000', 'aria-label': '答复内容' });
    return h('div', { class: 'hall-form' }, ta, btn('答复', () => act('reply', { objection_id: o.id, text: ta.value })));
  }

  function bidderControls() {
    const me = hall.me;
    const out = [];
    if (!me.bid) {
      out.push(h('p', { class: 'muted' }, '贵单位没有参与本项目投标，您以观众身份观看。'));
      return out;
    }
    out.push(h('p', null, `贵单位：${me.signed_in ? '已签到' : '未签到'}；投标状态：${BID_STATUS[me.bid.status] || me.bid.status}${me.confirmed ? '；已确认开标记录' : ''}`));
    if (hall.status === 'waiting') out.push(h('p', { class: 'hall-hint' }, '开标开始后，请点击“签到”。'));
    if (hall.status === 'signin' && !me.signed_in) out.push(btn('签到', () => act('signin')));
    if (hall.status === 'decrypting' && me.signed_in && me.bid.status === 'sealed') {
      const file = h('input', { type: 'file', id: 'hall-plain', 'aria-describedby': 'hall-plain-hint' });
      out.push(h('div', { class: 'hall-form' },
        h('label', { for: 'hall-plain' }, '选择本地解密后的投标文件'),
        file,
        h('p', { id: 'hall-plain-hint', class: 'hall-hint hall-mono' },
          '在本机用证书私钥解密（私钥不离开本机）：openssl cms -decrypt -binary -inform DER -in 投标文件.p7m -recip 我的证书.crt -inkey 我的私钥.key -out 投标文件.json'),
        btn('提交解密结果', async () => {
          if (!file.files[0]) return say('error', '请先选择解密后的投标文件。');
          if (file.files[0].size > 48 * 1024 * 1024) return say('error', '文件超过 48 MiB。');
          say('info', '正在提交…');
          await act('reveal', { plaintext_base64: await fileBase64(file.files[0]) });
        })));
    }
    if (hall.status === 'objections' && me.bid.status !== 'sealed') {
      const ta = h('textarea', { rows: '3', maxlength: '1000', id: 'hall-objection', placeholder: '不超过 1000 字' });
      out.push(h('div', { class: 'hall-form' }, h('label', { for: 'hall-objection' }, '对开标过程提出异议'), ta,
        btn('提交异议', async () => { if (await act('object', { text: ta.value })) ta.value = ''; }, 'btn btn-secondary')));
    }
    if (hall.status === 'confirming' && me.signed_in && !me.confirmed && hall.record) {
      const ta = h('textarea', { rows: '3', id: 'hall-sig', placeholder: '粘贴签名（base64）' });
      const file = h('input', { type: 'file', 'aria-label': '或选择签名文件 sig.bin' });
      out.push(h('div', { class: 'hall-form' },
        h('p', null, '请用本单位数字证书对下面的确认串签名：'),
        h('p', { class: 'hall-mono hall-confirm-string' }, hall.record.confirm_string),
        h('p', { class: 'hall-hint hall-mono' }, 'printf %s "确认串" > confirm.txt; openssl dgst -sha256 -sign 我的私钥.key -out sig.bin confirm.txt'),
        h('label', { for: 'hall-sig' }, '签名'), ta, file,
        btn('确认开标记录', async () => {
          let sig = ta.value.trim();
          if (!sig && file.files[0]) sig = await fileBase64(file.files[0]);
          if (!sig) return say('error', '请粘贴签名或选择签名文件。');
          await act('confirm', { signature: sig });
        })));
    }
    return out;
  }

  function hostControls() {
    const s = hall.status;
    const out = [h('p', { class: 'hall-host-note' }, '您是本场开标的主持人。')];
    if (s === 'waiting') out.push(btn('开始开标', () => act('start')));
    if (s === 'signin') {
      const m = minutesInput(30);
      out.push(h('div', { class: 'hall-form hall-inline' }, h('span', null, '解密时长（分钟）'), m, btn('开始解密', () => act('begin_decrypt', { minutes: Number(m.value) }))));
    }
    if (s === 'decrypting') {
      const boxes = (hall.sealed || []).filter((b) => b.to_backup).map((b) => h('label', { class: 'hall-check' },
        h('input', { type: 'checkbox', value: String(b.bid_id) }), ` ${b.company_name}（系统原因未能解密，走备用解密）`));
      out.push(h('div', { class: 'hall-form' }, ...boxes,
        btn('结束解密并唱标', () => act('close_decrypt', {
          system_fault_bid_ids: boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value)),
        }))));
    }
    if ((s === 'decrypting' || s === 'announced') && (hall.sealed || []).length) {
      const sel = h('select', { 'aria-label': '投标' }, ...hall.sealed.map((b) => h('option', { value: String(b.bid_id) }, b.company_name)));
      const reason = h('input', { type: 'text', maxlength: '200', placeholder: '系统原因', 'aria-label': '系统原因' });
      const shares = h('textarea', { rows: '3', placeholder: '保管人密钥分片，每行一条（至少两位保管人）', 'aria-label': '密钥分片' });
      out.push(h('details', { class: 'hall-form' }, h('summary', null, '备用解密（《电子招标投标办法》第三十一条）'), sel, reason, shares,
        btn('备用解密', () => act('backup_reveal', {
          bid_id: Number(sel.value), reason: reason.value, shares: shares.value.split('\n').map((x) => x.trim()).filter(Boolean),
        }), 'btn btn-secondary')));
    }
    if (s === 'announced') {
      const m = minutesInput(15);
      out.push(h('div', { class: 'hall-form hall-inline' }, h('span', null, '异议时长（分钟）'), m, btn('开始异议', () => act('open_objections', { minutes: Number(m.value) }))));
    }
    if (s === 'objections') out.push(btn('生成开标记录', () => act('begin_confirm')));
    if (s === 'confirming') out.push(btn('结束开标', () => act('close')));
    return out;
  }

  function drawControls() {
    const role = hall.me.role;
    if (role === 'host') replace(controls, ...hostControls());
    else if (role === 'bidder') replace(controls, ...bidderControls());
    else replace(controls, h('p', { class: 'muted hall-watcher' }, ctx.user ? '您正在观看开标直播。' : '您正在以游客身份观看开标直播。'));
  }

  function drawAll() {
    drawSteps();
    tick();
    drawSignins();
    drawBids();
    drawObjections();
    drawRecord();
    drawControls();
    drawFeed();
  }

  async function reload() {
    try {
      const fresh = await get(base, { signal: ctx.signal });
      hall = fresh;
      offset = Date.parse(hall.now) - Date.now();
      // The fresh state already holds the events up to its last_seq: they only
      // add their lines to the feed.
      if (hall.last_seq > lastSeq) await catchUp(hall.last_seq);
      drawAll();
    } catch (e) {
      if (e.name !== 'AbortError') say('error', e.message);
    }
  }

  // ---- events ----
  function apply(kind, d) {
    const at = d.at || new Date().toISOString();
    switch (kind) {
      case 'hall_started': hall.status = 'signin'; hall.countdown = null; hall.tender.status = 'opening'; break;
      case 'signed_in':
        if (!hall.signins.some((s) => s.company_id === d.company_id)) hall.signins.push({ company_id: d.company_id, company_name: d.company_name, at });
        break;
      case 'decrypt_started':
        hall.status = 'decrypting';
        hall.decrypt_until = d.decrypt_until;
        hall.countdown = { until: d.decrypt_until, label: '解密剩余' };
        break;
      case 'bid_opened':
      case 'bid_not_decrypted': {
        const row = { ...d, status: d.status || 'not_decrypted' };
        const i = hall.bids.findIndex((b) => b.bid_id === d.bid_id);
        if (i >= 0) hall.bids[i] = { ...hall.bids[i], ...row };
        else hall.bids.push(row);
        if (hall.sealed_count) hall.sealed_count -= 1;
        if (hall.me.bid && hall.me.bid.id === d.bid_id) hall.me.bid.status = row.status;
        break;
      }
      case 'factor_drawn': hall.tender.benchmark_factor = d.benchmark_factor; break;
      case 'decrypt_closed': hall.status = 'announced'; hall.countdown = null; break;
      case 'objections_opened':
        hall.status = 'objections';
        hall.objections_until = d.objections_until;
        hall.countdown = { until: d.objections_until, label: '异议剩余' };
        break;
      case 'objection':
        if (!hall.objections.some((o) => o.id === d.id)) hall.objections.push({ id: d.id, company_name: d.company_name, text: d.text, at: d.at });
        break;
      case 'reply': {
        const o = hall.objections.find((x) => x.id === d.objection_id);
        if (o) { o.reply = d.text; o.replied_at = d.at; }
        break;
      }
      case 'confirm_started':
        hall.status = 'confirming';
        hall.countdown = null;
        hall.record = { sha256: d.record_sha256, confirm_string: d.confirm_string, url: `${base}/record.pdf` };
        break;
      case 'confirmed':
        if (!hall.confirmations.some((c) => c.company_id === d.company_id)) hall.confirmations.push({ company_id: d.company_id, company_name: d.company_name, at });
        break;
      case 'closed':
        hall.status = 'closed';
        hall.countdown = null;
        if (hall.record) Object.assign(hall.record, { signature: d.record_sig, key_id: d.key_id });
        hall.tender.status = 'evaluation';
        break;
      case 'failed': hall.tender.status = 'failed'; break;
      default: break;
    }
    const text = EVENT_TEXT[kind];
    if (text) feed.push({ at, text: text(d) });
  }

  function onEvent(kind, d) {
    if (typeof d.seq !== 'number' || d.seq <= lastSeq) return; // already applied
    if (d.seq > lastSeq + 1) {
      catchUp().then(drawAll); // a gap: read the log
      return;
    }
    lastSeq = d.seq;
    apply(kind, d);
    drawAll();
    // A step change gives a bidder or the host new controls that depend on their own
    // position (their bid, the sealed list): they, not the watchers, reload the hall.
    if (hall.me.role !== 'watcher' && STEP_EVENTS.has(kind)) reload();
  }

  let catching = null;
  /** Read the log after lastSeq and apply it; events up to feedOnly (a state that
   *  already holds them) only add feed lines. */
  function catchUp(feedOnly = 0) {
    if (catching) return catching;
    catching = (async () => {
      let stepped = false;
      try {
        for (;;) {
          const r = await get(`${base}/events?after=${lastSeq}`, { signal: ctx.signal });
          for (const it of r.items) {
            if (it.seq !== lastSeq + 1) continue;
            lastSeq = it.seq;
            const d = { ...it.data, at: it.at };
            if (it.seq <= feedOnly) {
              const text = EVENT_TEXT[it.kind];
              if (text) feed.push({ at: it.at, text: text(d) });
            } else {
              apply(it.kind, d);
              if (STEP_EVENTS.has(it.kind)) stepped = true;
            }
          }
          if (r.items.length < 500) break;
        }
        if (stepped && hall.me.role !== 'watcher') setTimeout(reload, 0);
      } catch (e) {
        if (e.name !== 'AbortError') live.textContent = '同步失败，稍后重试';
      } finally {
        catching = null;
      }
    })();
    return catching;
  }

  // Past events fill the feed once (the hall state already reflects them).
  try {
    const past = await get(`${base}/events?after=0&limit=1000`, { signal: ctx.signal });
    for (const it of past.items) {
      const text = EVENT_TEXT[it.kind];
      if (text) feed.push({ at: it.at, text: text({ ...it.data, at: it.at }) });
    }
  } catch { /* the feed starts empty */ }
  drawAll();

  const timer = setInterval(tick, 1000);
  ctx.signal.addEventListener('abort', () => clearInterval(timer));
  if (typeof EventSource !== 'undefined') {
    const es = new EventSource(`${base}/live`);
    ctx.signal.addEventListener('abort', () => es.close());
    es.addEventListener('open', () => {
      live.textContent = '● 直播中';
      live.classList.add('on');
      catchUp().then(drawAll);
    });
    es.addEventListener('error', () => {
      live.textContent = '连接中断，正在重连…';
      live.classList.remove('on');
    });
    for (const kind of Object.keys(EVENT_TEXT)) {
      es.addEventListener(kind, (ev) => {
        let d;
        try {
          d = JSON.parse(ev.data);
        } catch {
          return;
        }
        onEvent(kind, d);
      });
    }
  } else {
    live.textContent = '浏览器不支持实时推送，请刷新查看';
  }
}
