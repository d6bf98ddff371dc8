/* /trade/tenders/{id} — one tender for everyone (GET /api/v1/trade/tenders/{id}):
 * what is bought or sold, by whom, for how much; the timetable (with the deadline
 * an amendment moved); lots; qualification; the evaluation method and its
 * parameters; every notice (announcement, clarifications, amendments, results)
 * with its documents; the status timeline; links to the opening hall and, for
 * asset sales, the auction.
 *
 * Bidders (roles bidder, company) get a "投标" panel while bids are accepted: the
 * deposit form (POST …/deposits) and the sealed-bid upload (POST …/bids, multipart:
 * envelope, envelope_kind, commitment_sha256, commitment_sig). The bid is sealed on
 * the bidder's own computer with the bidding tool or openssl (docs/BIDDING.md): the
 * page never sees the plaintext. Their receipts come from GET …/bids. */
import { ApiError, api, get, post } from '../api.js';
import { busy, clearFormErrors, field, fmtDateTime, formAlert, h, notice, replace, showFormError } from '../dom.js';
import { BIDDER_ROLES, SALE_KINDS, STAFF_ROLES, leftText, pct, statusBadge, tradeCss, tradeTabs, yuan } from './trade-list.js';

export async function render(main, ctx) {
  tradeCss();
  const id = ctx.route.id;
  ctx.setTitle('项目详情');
  replace(main, h('p', { class: 'loading' }, '正在加载项目…'));
  if (!/^\d+$/.test(id)) return notFound(main, ctx);
  let t;
  try {
    t = await get(`/api/v1/trade/tenders/${id}`, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status === 404) return notFound(main, ctx);
    throw e;
  }
  if (ctx.signal.aborted) return;
  const u = ctx.user;
  const bidder = Boolean(u && BIDDER_ROLES.includes(u.role));
  let company = null;
  let bids = null;
  if (bidder) {
    [company, bids] = await Promise.all([
      get('/api/v1/trade/companies/me', { signal: ctx.signal }).catch(() => null),
      get(`/api/v1/trade/tenders/${t.id}/bids`, { signal: ctx.signal }).catch(() => null),
    ]);
    if (ctx.signal.aborted) return;
  }
  draw({ main, ctx, t, bidder, company, bids });
}

function notFound(main, ctx) {
  ctx.setTitle('项目不存在');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '项目不存在'), h('p', { class: 'page-sub' }, '没有这个项目，或项目尚未发布。')),
    h('p', null, h('a', { class: 'btn btn-primary', href: '/trade' }, '返回交易公告')),
  );
}

function panel(id, title, ...body) {
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` }, h('h2', { class: 'panel-title', id: `${id}-title` }, title), ...body);
}

function kv(rows) {
  return h(
    'dl',
    { class: 'kv trade-kv' },
    rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

function methodText(t) {
  const m = t.method_params || {};
  if (t.method === 'composite') return `${t.method_label}（价格分 ${m.price_weight ?? '—'}%，技术分 ${m.tech_weight ?? '—'}%）`;
  if (t.method === 'reasonable_low') {
    const f = (x) => (typeof x === 'number' ? x.toFixed(2) : '—');
    return `${t.method_label}（开标时在 ${f(m.factor_min)}～${f(m.factor_max)} 间随机抽取下浮系数${t.benchmark_factor ? `，本项目抽得 ${t.benchmark_factor}` : ''}）`;
  }
  if (t.method === 'auction') return `${t.method_label}（加价幅度 ${yuan(m.increment)}，最后 ${Math.round((m.extend_seconds || 300) / 60)} 分钟内有出价则延时）`;
  return t.method_label;
}

function draw(view) {
  const { main, ctx, t } = view;
  const sale = SALE_KINDS.has(t.kind);
  ctx.setTitle(`${t.title} · ${t.tender_no}`);
  const moved = (t.notices || []).filter((n) => n.new_deadline_at);
  const staff = ctx.user && (STAFF_ROLES.includes(ctx.user.role) || ctx.user.role === 'supervisor');
  const links = [];
  if (t.links && t.links.hall) links.push(h('a', { class: 'btn btn-primary', id: 'hall-link', href: t.links.hall }, '进入开标大厅'));
  if (t.links && t.links.auction) links.push(h('a', { class: 'btn btn-primary', id: 'auction-link', href: t.links.auction }, '进入网络竞价'));
  if (staff) links.push(h('a', { class: 'btn btn-secondary', href: `/trade/manage?id=${t.id}` }, '在交易管理中打开'));

  replace(
    main,
    h(
      'nav',
      { class: 'breadcrumb', 'aria-label': '当前位置' },
      h('ol', null, h('li', null, h('a', { href: '/' }, '首页')), h('li', null, h('a', { href: '/trade' }, '公共资源交易')), h('li', { 'aria-current': 'page' }, t.tender_no)),
    ),
    h(
      'header',
      { class: 'page-head' },
      h('p', { class: 'guide-kicker' }, `${t.kind_label} · ${t.method_label}`),
      h('h1', { class: 'page-title', tabindex: '-1', id: 'tender-title' }, t.title),
      h('p', { class: 'trade-head-meta' }, h('span', { class: 'trade-no', id: 'tender-no' }, t.tender_no), h('span', { id: 'tender-status' }, statusBadge(t))),
    ),
    tradeTabs(ctx, ''),
    banner(t),
    links.length ? h('div', { class: 'trade-links' }, links) : null,
    h(
      'div',
      { class: 'trade-layout' },
      h(
        'div',
        { class: 'trade-main' },
        result(t),
        panel(
          'tender-overview',
          '项目概况',
          kv([
            [sale ? '出让人' : '招标人（采购人）', t.buyer],
            t.agency ? ['招标代理机构', t.agency] : null,
            t.town_name ? ['所在乡镇（街道）', t.town_name] : null,
            sale ? ['起拍价', h('span', { class: 'trade-money' }, yuan(t.reserve))] : ['预算（最高限价）', h('span', { class: 'trade-money' }, yuan(t.budget))],
            [sale ? '竞买保证金' : '投标保证金', t.deposit_fen ? yuan(t.deposit) : '不收取'],
            [sale ? '交易方式' : '评标办法', methodText(t)],
            sale ? null : ['中标候选人公示期', `${t.publicity_days} 天`],
            ['交易形式', [t.electronic ? '全流程电子化' : '纸质', !sale && t.remote_opening ? '，不见面开标' : ''].join('')],
          ]),
        ),
        panel(
          'tender-timetable',
          '时间安排',
          kv([
            ['公告发布', t.announce_at ? fmtDateTime(t.announce_at) : '尚未发布'],
            t.questions_until ? ['答疑截止', fmtDateTime(t.questions_until)] : null,
            [
              sale ? '报名（挂牌）截止' : '投标截止（开标时间）',
              h('span', { id: 'tender-deadline' }, fmtDateTime(t.deadline_at), moved.length ? h('span', { class: 'trade-moved' }, `已顺延 ${moved.length} 次`) : null),
            ],
            t.evaluation_at ? ['评标时间', fmtDateTime(t.evaluation_at)] : null,
            t.publicity_until ? ['公示截止', fmtDateTime(t.publicity_until)] : null,
          ]),
        ),
        t.lots && t.lots.length
          ? panel(
              'tender-lots',
              '标段（包）划分',
              h(
                'div',
                { class: 'table-scroll' },
                h(
                  'table',
                  { class: 'table' },
                  h('thead', null, h('tr', null, h('th', { scope: 'col' }, '标段'), h('th', { scope: 'col' }, '名称'), h('th', { scope: 'col' }, sale ? '起拍价' : '预算'))),
                  h('tbody', null, t.lots.map((l) => h('tr', null, h('td', null, `第 ${l.no} 标段`), h('td', null, l.name), h('td', { class: 'trade-money' }, yuan(l.budget))))),
                ),
              ),
            )
          : null,
        t.qualification ? panel('tender-qualification', sale ? '竞买人资格' : '投标人资格要求', h('p', { class: 'trade-text' }, t.qualification)) : null,
        t.description ? panel('tender-description', '项目说明', h('p', { class: 'trade-text' }, t.description)) : null,
        panel('tender-notices', '公告与澄清', notices(t)),
      ),
      h(
        'aside',
        { class: 'trade-aside' },
        panel('tender-progress', '交易进度', timelineList(t)),
        view.bidder ? bidPanel(view) : null,
        !ctx.user && t.open_for_bids ? panel('tender-login', sale ? '参与竞买' : '参与投标', h('p', null, '投标人请先登录，登记企业后缴纳保证金并上传加密投标文件。'), h('a', { class: 'btn btn-primary', href: `/login?next=${encodeURIComponent(location.pathname)}` }, '登录')) : null,
      ),
    ),
  );
}

function banner(t) {
  if (t.status === 'failed') return notice('error', h('strong', null, '本项目已流标：'), t.failed_reason || '有效投标人不足3家，依法流标');
  if (t.status === 'cancelled') return notice('error', h('strong', null, '本项目已终止：'), t.cancelled_reason || '');
  if (t.status === 'draft') return notice('warn', '草稿：尚未发布，公众不可见。');
  if (t.open_for_bids) {
    const left = leftText(t.deadline_at);
    return notice('info', `${SALE_KINDS.has(t.kind) ? '报名' : '投标'}进行中，截止时间 ${fmtDateTime(t.deadline_at)}${left ? `（${left}）` : ''}。`);
  }
  return null;
}

function result(t) {
  if (!t.award_company && !t.award) return null;
  const sale = SALE_KINDS.has(t.kind);
  return panel(
    'tender-result',
    sale ? '成交结果' : '中标结果',
    kv([
      [sale ? '受让人' : '中标人', t.award_company ? t.award_company.name : '—'],
      [sale ? '成交价' : '中标价', h('span', { class: 'trade-money' }, yuan(t.award))],
      sale ? ['溢价率', pct(t.premium_rate)] : ['节支率', pct(t.savings_rate)],
      t.awarded_at ? ['定标时间', fmtDateTime(t.awarded_at)] : null,
      t.contract_no ? ['合同编号', t.contract_no] : null,
      t.contract ? ['合同金额', yuan(t.contract)] : null,
    ]),
  );
}

function notices(t) {
  const list = t.notices || [];
  if (!list.length) return h('p', { class: 'muted' }, '暂无公告。');
  return h(
    'ol',
    { class: 'trade-notices', id: 'notice-list' },
    list.map((n) =>
      h(
        'li',
        { class: 'trade-notice', dataset: { kind: n.kind } },
        h('div', { class: 'trade-notice-head' }, h('span', { class: 'trade-kind' }, n.kind_label), h('h3', { class: 'trade-notice-title' }, n.title), h('span', { class: 'trade-notice-time' }, fmtDateTime(n.created_at))),
        h('p', { class: 'trade-text' }, n.body),
        n.new_deadline_at ? h('p', { class: 'trade-deadline-move' }, `投标截止时间由 ${fmtDateTime(n.old_deadline_at)} 顺延至 ${fmtDateTime(n.new_deadline_at)}`) : null,
        n.files && n.files.length
          ? h('ul', { class: 'trade-files' }, n.files.map((f) => h('li', null, h('a', { href: f.url, download: f.filename, 'data-external': '' }, f.filename), ` （${Math.max(1, Math.round((f.size || 0) / 1024))} KB）`)))
          : null,
      ),
    ),
  );
}

function timelineList(t) {
  return h(
    'ol',
    { class: 'trade-timeline', id: 'tender-timeline' },
    (t.timeline || []).map((s) => h('li', { dataset: { state: s.state, status: s.status } }, s.label, s.at ? h('span', { class: 'trade-step-at' }, fmtDateTime(s.at)) : null)),
  );
}

/* ---- the bidder's panel ---- */

function bidPanel(view) {
  const { t, company } = view;
  const sale = SALE_KINDS.has(t.kind);
  const body = [];
  if (!company) {
    body.push(notice('warn', '您的账号尚未登记企业，请先登记企业信息。'), h('a', { class: 'btn btn-primary', href: '/trade/company' }, '登记企业'));
    return panel('bid-panel', sale ? '参与竞买' : '投标', ...body);
  }
  body.push(h('p', { class: 'muted' }, `投标人：${company.name}（${company.uscc}）`));
  // deposit
  body.push(h('h3', null, sale ? '竞买保证金' : '投标保证金'));
  if (t.my_deposit) {
    body.push(notice('ok', `已缴纳保证金 ${yuan(t.my_deposit.amount)}。`));
  } else if (t.can && t.can.deposit) {
    body.push(depositForm(view));
  } else {
    body.push(h('p', { class: 'muted' }, '当前不在报名（投标）期内。'));
  }
  if (sale) {
    if (t.links && t.links.auction) body.push(h('p', null, h('a', { class: 'btn btn-secondary', href: t.links.auction }, '进入网络竞价')));
    return h('section', { class: 'panel trade-bid-panel', id: 'bid-panel', 'aria-labelledby': 'bid-panel-title' }, h('h2', { class: 'panel-title', id: 'bid-panel-title' }, '参与竞买'), ...body);
  }
  // receipts
  const mine = (view.bids && (view.bids.mine || view.bids.items)) || [];
  body.push(h('h3', null, '我的投标文件'));
  body.push(receipts(mine));
  if (t.can && t.can.bid) body.push(bidForm(view));
  return h('section', { class: 'panel trade-bid-panel', id: 'bid-panel', 'aria-labelledby': 'bid-panel-title' }, h('h2', { class: 'panel-title', id: 'bid-panel-title' }, '投标'), ...body);
}

function receipts(list) {
  if (!list.length) return h('p', { class: 'muted', id: 'bid-receipts' }, '尚未上传投标文件。');
  return h(
    'ul',
    { class: 'plain-list', id: 'bid-receipts' },
    list.map((b) =>
      h(
        'li',
        { class: 'trade-receipt' },
        h('strong', null, `第 ${b.seq} 次递交`),
        ` · ${fmtDateTime(b.submitted_at)} · ${b.status === 'sealed' ? '已密封' : b.status === 'replaced' ? '已被替换' : b.status}`,
        h('code', { class: 'trade-code' }, `回执 #${b.id}  密文 SHA-256 ${b.envelope_sha256}`),
      ),
    ),
  );
}

function depositForm(view) {
  const { t } = view;
  const alert = formAlert();
  const form = h(
    'form',
    { class: 'form', id: 'deposit-form', novalidate: true },
    alert,
    field({ label: '缴纳金额（元）', name: 'amount', required: true, value: t.deposit || '0.00', inputmode: 'decimal', hint: `本项目须缴纳 ${yuan(t.deposit)}` }),
    field({ label: '付款账号', name: 'account_no', required: true, inputmode: 'numeric', autocomplete: 'off', maxlength: 40, hint: '须为投标人基本账户' }),
    field({ label: '付款账户名称', name: 'account_name', required: true, value: view.company.name, maxlength: 200 }),
    field({ label: '开户银行', name: 'bank', maxlength: 100 }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '登记保证金')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const v = {};
    for (const n of ['amount', 'account_no', 'account_name', 'bank']) {
      const s = form.elements.namedItem(n).value.trim();
      if (s) v[n] = s;
    }
    await busy(form, async () => {
      try {
        await post(`/api/v1/trade/tenders/${t.id}/deposits`, v);
        view.t = await get(`/api/v1/trade/tenders/${t.id}`);
        draw(view);
        const p = document.getElementById('bid-panel');
        if (p) p.scrollIntoView({ block: 'nearest' });
      } catch (err) {
        showFormError(form, err);
      }
    });
  });
  return form;
}

function bidForm(view) {
  const { t, company } = view;
  const alert = formAlert();
  const fKind = field({
    label: '信封类型', name: 'envelope_kind', required: true, value: 'cms',
    options: [{ value: 'cms', label: 'CMS（RSA、ECDSA 证书）' }, { value: 'sm2', label: 'SM2 国密信封' }],
  });
  const fFile = field({ label: '加密后的投标文件（数字信封）', name: 'envelope', type: 'file', required: true });
  const fSha = field({ label: '明文 SHA-256（承诺值）', name: 'commitment_sha256', required: true, maxlength: 64, autocomplete: 'off', hint: '64 位十六进制小写' });
  const fSig = field({ label: '承诺签名（Base64）', name: 'commitment_sig', required: true, multiline: true, rows: 3, maxlength: 4096 });
  const form = h(
    'form',
    { class: 'form', id: 'bid-form', novalidate: true },
    h('h3', null, '上传加密投标文件'),
    h(
      'p',
      { class: 'hint' },
      '投标文件须先在本机用投标工具或 openssl 加密封装（见 docs/BIDDING.md），本页面只上传密文，服务器在开标前无法解密，也不会向任何人透露您已投标：',
    ),
    h(
      'ol',
      { class: 'trade-steps' },
      h('li', null, '按格式写好投标明文 bid.json（含项目编号、统一社会信用代码、报价等）；'),
      h('li', null, '计算明文的 SHA-256：sha256sum bid.json；'),
      h('li', null, '用本企业证书的私钥对下面的承诺串签名（openssl dgst -sha256 -sign，国密用 -sm3），Base64 编码；'),
      h('li', null, `用 openssl cms -encrypt 以本企业证书${t.allow_backup ? '和交易中心备份证书' : ''}为接收者加密明文，得到数字信封。`),
    ),
    h('code', { class: 'trade-code', id: 'commitment-template' }, `isle-bid-commitment:v1:${t.tender_no}:${company.uscc}:<明文 SHA-256>`),
    alert,
    fFile,
    fKind,
    fSha,
    fSig,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '上传投标文件')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const file = fFile.control.files && fFile.control.files[0];
    if (!file) {
      showFormError(form, { field: 'envelope', message: '请选择加密后的投标文件' });
      return;
    }
    const sha = fSha.control.value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha)) {
      showFormError(form, { field: 'commitment_sha256', message: '承诺值须为 64 位十六进制' });
      return;
    }
    const fd = new FormData();
    fd.append('envelope', file, file.name);
    fd.append('envelope_kind', fKind.control.value);
    fd.append('commitment_sha256', sha);
    fd.append('commitment_sig', fSig.control.value.trim());
    await busy(form, async () => {
      try {
        const r = await api('POST', `/api/v1/trade/tenders/${t.id}/bids`, fd);
        view.bids = await get(`/api/v1/trade/tenders/${t.id}/bids`).catch(() => view.bids);
        draw(view);
        const box = document.getElementById('bid-receipts');
        if (box && r) box.before(notice('ok', `投标文件已密封递交，回执编号 ${r.receipt ? r.receipt.bid_id : (r.bid_id || '')}。请妥善保存回执。`));
      } catch (err) {
        if (err instanceof ApiError) showFormError(form, err);
        else showFormError(form, { message: String(err) });
      }
    });
  });
  return form;
}

