/* /trade/tenders/{id}/evaluate — 在线评标 (GET /api/v1/trade/tenders/{id}/evaluation).
 *
 * A drawn expert scores each opened bid, shown only as 投标人A/B/C… with its
 * opened price, duration and quality (the API never sends a company name before
 * the report): technical scores 0..max with a comment (综合评分法), or a
 * qualification pass/fail with the reason for a fail (最低价法, 合理低价法). Save
 * keeps a draft; submit is final (a second click confirms).
 *
 * Trading staff see the bids with their companies, the sealed panel's progress
 * (已抽取 N 名, names only after the report), and the steps in order: draw the
 * panel, compute, the report (PDF), publicise the candidates, answer objections,
 * award after the publicity, record the contract. Supervisors see the same,
 * read-only. */
import { ApiError, get, post, put } from '../api.js';
import { fmtDateTime, h, notice, pageTitle, replace } from '../dom.js';

const STAFF = ['trading_staff', 'admin'];

/** Link the page's stylesheet once (index.html is shared; the CSP allows 'self'). */
export function useCss(href) {
  if (document.querySelector(`link[data-page-css="${href}"]`)) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href, dataset: { pageCss: href } }));
}

const yuan = (s) => {
  if (s === null || s === undefined || s === '') return '—';
  const [i, f] = String(s).split('.');
  return `¥${i.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${(f || '00').padEnd(2, '0')}`;
};
const score = (v) => (typeof v === 'number' ? v.toFixed(2) : '—');

function statusChip(t) {
  return h('span', { class: `ev-status ev-status-${t.status}` }, t.status_label || t.status);
}

function head(t, sub) {
  return h(
    'div',
    { class: 'page-head' },
    h('p', { class: 'ev-kicker' }, h('a', { href: `/trade/tenders/${t.id}` }, t.tender_no), ' · ', t.kind_label, ' · ', t.method_label),
    h('h1', { class: 'page-title', tabindex: '-1' }, t.title, ' ', statusChip(t)),
    sub ? h('p', { class: 'page-sub' }, sub) : null,
  );
}

function errorBox(e) {
  return notice('error', e instanceof ApiError ? e.message : String(e && e.message ? e.message : e));
}

export async function render(main, ctx) {
  useCss('/css/evaluate.css');
  const id = ctx.route.id;
  ctx.setTitle('在线评标');
  replace(main, h('p', { class: 'loading' }, '正在加载…'));
  if (!/^\d+$/.test(id)) {
    replace(main, pageTitle('项目不存在'), notice('error', '没有这个项目。'));
    return;
  }
  const load = async () => {
    let ev;
    try {
      ev = await get(`/api/v1/trade/tenders/${id}/evaluation`, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(main, pageTitle('在线评标'), errorBox(e));
      return;
    }
    if (ctx.signal.aborted) return;
    ctx.setTitle(`在线评标 · ${ev.tender.title}`);
    if (ev.view === 'expert') renderExpert(main, ev, load);
    else if (ev.view === 'staff') renderStaff(main, ev, load, ctx);
    else replace(main, head(ev.tender), notice('warn', '您不是本项目的评标专家，不能进入评标室。'), h('p', null, h('a', { href: `/trade/tenders/${id}` }, '查看项目公告')));
  };
  await load();
}

/* ---------- the expert ---------- */

function renderExpert(main, ev, reload) {
  const t = ev.tender;
  const qual = t.scoring === 'qualification';
  const locked = ev.me.submitted || t.status !== 'evaluation' || ev.report;
  const alertBox = h('div', { class: 'ev-alert', 'aria-live': 'polite' });
  const cards = ev.bids.map((b) => bidCard(b, qual, ev.max_score, locked, ev.report));
  const form = h('form', { class: 'ev-form', id: 'score-form', novalidate: true }, h('ul', { class: 'ev-bids' }, cards.map((c) => c.el)));

  const collect = () => {
    const scores = [];
    for (const c of cards) {
      const v = c.value();
      if (v) scores.push(v);
    }
    return scores;
  };
  const save = async () => {
    replace(alertBox);
    await put(`/api/v1/trade/tenders/${t.id}/scores`, { scores: collect() });
  };
  const saveBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'score-save' }, '保存草稿');
  const submitBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'score-submit' }, '提交评分');
  const confirmBox = h('div', { class: 'ev-confirm', hidden: true, id: 'score-confirm' },
    h('p', null, '提交后评分不能修改。确认提交吗？'),
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn btn-primary', id: 'score-confirm-yes' }, '确认提交'),
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'score-confirm-no' }, '再看看')));
  const fail = (e) => {
    replace(alertBox, errorBox(e));
    if (e instanceof ApiError && e.field) {
      const m = /^scores\[(\d+)\]/.exec(e.field);
      const v = collect();
      if (m && v[Number(m[1])]) {
        const card = cards.find((c) => c.ref === v[Number(m[1])].bid_ref);
        if (card) card.focus();
      }
    }
  };
  saveBtn.addEventListener('click', async () => {
    saveBtn.disabled = true;
    try {
      await save();
      replace(alertBox, notice('ok', '已保存草稿。'));
    } catch (e) {
      fail(e);
    } finally {
      saveBtn.disabled = false;
    }
  });
  submitBtn.addEventListener('click', () => {
    confirmBox.hidden = false;
    confirmBox.querySelector('#score-confirm-yes').focus();
  });
  confirmBox.querySelector('#score-confirm-no').addEventListener('click', () => {
    confirmBox.hidden = true;
    submitBtn.focus();
  });
  confirmBox.querySelector('#score-confirm-yes').addEventListener('click', async (ev2) => {
    ev2.currentTarget.disabled = true;
    try {
      await save();
      await post(`/api/v1/trade/tenders/${t.id}/scores/submit`);
      await reload();
    } catch (e) {
      confirmBox.hidden = true;
      ev2.currentTarget.disabled = false;
      fail(e);
    }
  });

  const role = ev.me.chair ? '评标委员会组长' : '评标委员会成员';
  const intro = ev.report
    ? notice('ok', '评标报告已形成，投标人名称已公开。')
    : notice('info', '投标人以字母代号显示，评标报告形成前您和其他人都看不到投标人名称；专家名单同样保密。');
  replace(
    main,
    head(t, `${role} · ${qual ? '资格审查（合格 / 不合格）' : `技术评分（满分 ${ev.max_score} 分）`}`),
    intro,
    ev.me.submitted ? notice('ok', h('strong', null, '您已提交评分。'), ev.report ? '' : '等待其他专家提交后由交易中心计算结果。') : null,
    form,
    locked ? null : h('div', { class: 'form-actions ev-actions' }, saveBtn, submitBtn),
    confirmBox,
    alertBox,
    ev.results ? resultsTable(ev.results, t, false) : null,
  );
}

function bidCard(b, qual, max, locked, report) {
  const mine = b.my_score || {};
  const idBase = `bid-${b.ref}`;
  const facts = h(
    'dl',
    { class: 'ev-facts' },
    h('dt', null, '投标报价'),
    h('dd', { class: 'ev-price' }, yuan(b.price), b.over_budget ? h('span', { class: 'ev-flag' }, '超过最高限价') : null),
    h('dt', null, '工期'),
    h('dd', null, b.duration_days ? `${b.duration_days} 天` : '—'),
    h('dt', null, '质量'),
    h('dd', null, b.quality || '—'),
  );
  let input;
  let value;
  let focus;
  if (qual) {
    const name = `${idBase}-pass`;
    const yes = h('input', { type: 'radio', name, value: '1', id: `${name}-y`, checked: mine.pass === true, disabled: locked });
    const no = h('input', { type: 'radio', name, value: '0', id: `${name}-n`, checked: mine.pass === false, disabled: locked });
    const reason = h('textarea', { id: `${idBase}-reason`, name: `${idBase}-reason`, rows: '2', maxlength: '500', disabled: locked, placeholder: '判定不合格时必须说明理由' });
    reason.value = mine.reason || '';
    input = h(
      'div',
      { class: 'ev-input' },
      h('fieldset', { class: 'ev-pass' },
        h('legend', null, '资格审查'),
        h('label', { for: yes.id, class: 'ev-radio' }, yes, ' 合格'),
        h('label', { for: no.id, class: 'ev-radio' }, no, ' 不合格')),
      h('label', { for: reason.id }, '理由'),
      reason,
    );
    value = () => {
      if (!yes.checked && !no.checked) return null;
      const v = { bid_ref: b.ref, pass: yes.checked };
      if (reason.value.trim()) v.reason = reason.value.trim();
      return v;
    };
    focus = () => (no.checked ? reason : yes).focus();
  } else {
    const num = h('input', {
      type: 'number', id: `${idBase}-score`, name: `${idBase}-score`, min: '0', max: String(max), step: '0.5',
      inputmode: 'decimal', disabled: locked, class: 'ev-score-input',
    });
    if (typeof mine.tech_score === 'number') num.value = String(mine.tech_score);
    const comment = h('textarea', { id: `${idBase}-comment`, name: `${idBase}-comment`, rows: '2', maxlength: '1000', disabled: locked, placeholder: '评审意见（可选）' });
    comment.value = mine.comment || '';
    input = h(
      'div',
      { class: 'ev-input' },
      h('label', { for: num.id }, `技术分（0–${max}）`),
      num,
      h('label', { for: comment.id }, '评审意见'),
      comment,
    );
    value = () => {
      if (num.value === '') return null;
      const v = { bid_ref: b.ref, tech_score: Number(num.value) };
      if (comment.value.trim()) v.comment = comment.value.trim();
      return v;
    };
    focus = () => num.focus();
  }
  const el = h(
    'li',
    { class: 'ev-bid card', dataset: { ref: b.ref } },
    h('h2', { class: 'ev-bid-title' }, `投标人${b.ref}`, report && b.company_name ? h('span', { class: 'ev-company' }, b.company_name) : null),
    facts,
    input,
  );
  return { el, value, focus, ref: b.ref };
}

/* ---------- results (both views) ---------- */

function resultsTable(rows, t, full) {
  const composite = t.method === 'composite';
  return h(
    'section',
    { class: 'section ev-results', id: 'ev-results' },
    h('h2', { class: 'section-title' }, '评审结果'),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'table ev-stack' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, '名次'), h('th', { scope: 'col' }, '投标人'), h('th', { scope: 'col' }, '投标报价'),
          composite ? [h('th', { scope: 'col' }, '价格分'), h('th', { scope: 'col' }, '技术分'), h('th', { scope: 'col' }, '总分')] : null,
          h('th', { scope: 'col' }, '说明'))),
        h('tbody', null, rows.map((r) => h(
          'tr',
          { class: r.valid ? null : 'row-disabled', dataset: { ref: r.ref || '' } },
          h('td', { 'data-label': '名次', class: 'ev-rank' }, r.valid ? String(r.rank) : '无效'),
          h('td', { 'data-label': '投标人' }, h('span', null, r.company_name, r.ref ? h('span', { class: 'muted' }, `（${r.ref}）`) : null)),
          h('td', { class: 'ev-num', 'data-label': '投标报价' }, yuan(r.price)),
          composite ? [h('td', { class: 'ev-num', 'data-label': '价格分' }, score(r.price_score)), h('td', { class: 'ev-num', 'data-label': '技术分' }, score(r.tech_score)), h('td', { class: 'ev-num', 'data-label': '总分' }, h('strong', null, score(r.total_score)))] : null,
          h('td', { class: 'ev-note', 'data-label': '说明' }, (!r.valid && r.reason) || (full && r.outliers && r.outliers.length)
            ? h('span', null, r.valid ? '' : r.reason || '',
              full && r.outliers && r.outliers.length
                ? r.outliers.map((o) => h('span', { class: 'ev-flag ev-outlier' }, `${o.expert} 评分 ${o.score} 偏离（其他专家均分 ${o.others_mean}）`))
                : null)
            : null),
        ))),
      ),
    ),
  );
}

/* ---------- staff ---------- */

function renderStaff(main, ev, reload, ctx) {
  const t = ev.tender;
  const canAct = STAFF.includes(ctx.user.role);
  const alertBox = h('div', { class: 'ev-alert', 'aria-live': 'polite' });
  const act = (label, path, body, { id, cls = 'btn btn-primary' } = {}) => {
    const b = h('button', { type: 'button', class: cls, id }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      replace(alertBox);
      try {
        await post(`/api/v1/trade/tenders/${t.id}/${path}`, typeof body === 'function' ? body() : body);
        await reload();
      } catch (e) {
        b.disabled = false;
        replace(alertBox, errorBox(e));
      }
    });
    return b;
  };
  const panel = ev.panel || { count: 0, submitted: 0 };
  const steps = [];

  // 1. The panel.
  const panelBody = [];
  if (!panel.count) {
    panelBody.push(h('p', null, '尚未抽取评标专家。系统从专家库按专业随机抽取，自动回避与投标人、招标人有关联的专家，名单在评标报告形成前保密。'));
    if (canAct && t.status === 'evaluation') {
      const sel = h('select', { id: 'draw-n', name: 'n' }, [3, 5, 7, 9].map((n) => h('option', { value: String(n), selected: n === 5 }, `${n} 名`)));
      panelBody.push(h('div', { class: 'ev-inline' }, h('label', { for: 'draw-n' }, '专家人数'), sel,
        act('抽取专家', 'experts/draw', () => ({ n: Number(sel.value) }), { id: 'draw-btn' })));
    }
  } else if (panel.sealed) {
    panelBody.push(h('p', { class: 'ev-big', id: 'panel-count' }, `已抽取 ${panel.count} 名（名单保密）`, h('span', { class: 'muted' }, ` · 已提交评分 ${panel.submitted} / ${panel.count}`)));
  } else {
    panelBody.push(h('ol', { class: 'ev-panel', id: 'panel-names' }, (panel.items || []).map((x) => h('li', null, x.name, x.chair ? h('span', { class: 'ev-chip' }, '组长') : null, x.employer ? h('span', { class: 'muted' }, ` ${x.employer}`) : null))));
  }
  steps.push(h('section', { class: 'panel ev-step' }, h('h2', { class: 'panel-title' }, '评标委员会'), panelBody));

  // 2. The bids.
  steps.push(h(
    'section',
    { class: 'section' },
    h('h2', { class: 'section-title' }, '开标结果'),
    h('div', { class: 'table-scroll' }, h(
      'table',
      { class: 'table ev-stack', id: 'bids-table' },
      h('thead', null, h('tr', null, ['代号', '投标人', '投标报价', '工期', '质量', '状态'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, ev.bids.map((b) => h(
        'tr',
        { class: b.status === 'opened' ? null : 'row-disabled' },
        h('td', { 'data-label': '代号' }, b.ref || '—'),
        h('td', { 'data-label': '投标人' }, b.company_name),
        h('td', { class: 'ev-num', 'data-label': '投标报价' }, yuan(b.price)),
        h('td', { 'data-label': '工期' }, b.duration_days ? `${b.duration_days} 天` : '—'),
        h('td', { 'data-label': '质量' }, b.quality || '—'),
        h('td', { 'data-label': '状态' }, b.status === 'opened' ? '有效开启' : b.invalid_reason || b.status),
      ))),
    )),
  ));

  // 3. Compute and the report.
  const actions = [];
  if (canAct && t.status === 'evaluation' && panel.count && panel.submitted === panel.count) {
    actions.push(act(ev.report ? '重新计算' : '计算评标结果', 'evaluation/compute', undefined, { id: 'compute-btn', cls: ev.report ? 'btn btn-secondary' : 'btn btn-primary' }));
  } else if (t.status === 'evaluation' && panel.count) {
    actions.push(h('p', { class: 'muted' }, '全部专家提交评分后可计算评标结果。'));
  }
  if (ev.report) {
    actions.push(h('a', { class: 'btn btn-secondary', href: `/api/v1/trade/tenders/${t.id}/evaluation/report.pdf`, target: '_blank', rel: 'noopener', id: 'report-link' }, '评标报告（PDF）'));
    if (canAct && t.status === 'evaluation') actions.push(act('公示中标候选人', 'publicize', undefined, { id: 'publicize-btn' }));
  }
  if (ev.results) steps.push(resultsTable(ev.results, t, true));

  // 4. Publicity, objections, award.
  if (t.status === 'publicity') {
    const until = t.publicity_until ? fmtDateTime(t.publicity_until) : '';
    const over = t.publicity_until && new Date(t.publicity_until) <= new Date();
    steps.push(h('section', { class: 'panel ev-step', id: 'publicity' },
      h('h2', { class: 'panel-title' }, '中标候选人公示'),
      h('p', null, `公示期 ${t.publicity_days} 日，至 ${until} 止。`, over ? h('strong', null, ' 公示期已结束。') : ''),
      objectionsList(ev.objections, canAct, t, reload, alertBox)));
    if (canAct) actions.push(act('确定中标人', 'award', undefined, { id: 'award-btn' }));
  }
  if (ev.award) {
    const a = ev.award;
    const kv = [
      ['中标人', a.company_name], ['中标价', yuan(a.award)], ['节约率', `${(a.savings_rate * 100).toFixed(2)}%`],
      ['定标时间', fmtDateTime(a.awarded_at)],
    ];
    if (a.contract_no) kv.push(['合同编号', a.contract_no], ['合同金额', yuan(a.contract)]);
    const box = [h('dl', { class: 'kv' }, kv.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]))];
    if (canAct && t.status === 'awarded') {
      const no = h('input', { id: 'contract-no', name: 'contract_no', maxlength: '64', autocomplete: 'off' });
      const amt = h('input', { id: 'contract-amount', name: 'contract_amount', inputmode: 'decimal', placeholder: a.award });
      box.push(h('div', { class: 'ev-contract' },
        h('div', { class: 'field' }, h('label', { for: 'contract-no' }, '合同编号'), no),
        h('div', { class: 'field' }, h('label', { for: 'contract-amount' }, '合同金额（元，默认中标价）'), amt),
        act('登记合同', 'contract', () => (amt.value.trim() ? { contract_no: no.value.trim(), contract_amount: amt.value.trim() } : { contract_no: no.value.trim() }), { id: 'contract-btn' })));
    }
    steps.push(h('section', { class: 'panel ev-step', id: 'award' }, h('h2', { class: 'panel-title' }, '定标与合同'), box));
  }
  if (t.status === 'failed') steps.push(notice('warn', '本项目已流标。'));

  replace(
    main,
    head(t, ev.report ? '交易中心评标管理：评标报告已形成，专家名单和评分明细见报告。' : '交易中心评标管理：专家名单在评标报告形成前保密，仅显示人数。'),
    alertBox,
    actions.length ? h('div', { class: 'form-actions ev-actions', id: 'staff-actions' }, actions) : null,
    steps,
  );
}

function objectionsList(items, canAct, t, reload, alertBox) {
  if (!items || !items.length) return h('p', { class: 'muted', id: 'objections-none' }, '暂无异议。');
  return h('ul', { class: 'ev-objections', id: 'objections' }, items.map((o) => {
    const li = h('li', { class: 'card ev-objection' },
      h('p', null, h('strong', null, o.company_name || '投标人'), h('span', { class: 'muted' }, ` ${fmtDateTime(o.at)}`)),
      h('p', null, o.text));
    if (o.reply) li.append(h('p', { class: 'ev-reply' }, '答复：', o.reply));
    else if (canAct) {
      const ta = h('textarea', { id: `reply-${o.id}`, rows: '2', maxlength: '2000' });
      const b = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, '答复');
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await post(`/api/v1/trade/tenders/${t.id}/objections/${o.id}/reply`, { reply: ta.value.trim() });
          await reload();
        } catch (e) {
          b.disabled = false;
          replace(alertBox, errorBox(e));
        }
      });
      li.append(h('label', { for: ta.id }, '答复内容'), ta, b);
    } else li.append(h('p', { class: 'muted' }, '待答复'));
    return li;
  }));
}
