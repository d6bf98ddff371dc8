/* /verify — 证明核验, for anyone, no login: check a proof by its number (GET
 * /verify/{no}?format=json) or by the text of its QR code (POST
 * /api/v1/proofs/verify {qr}), e.g. pasted from a phone's scanner app. The
 * verdict says plainly whether the proof is genuine and, if not, why (altered,
 * bad signature, unknown key, revoked, expired, not found), and shows only the
 * masked holder. ?no=ZM… checks a number at once. */
import { api, post } from '../api.js';
import { h, notice, replace } from '../dom.js';

const WHY = {
  valid: '证明真实有效。',
  malformed: '二维码内容不完整或格式不对。',
  unknown_key: '签名所用的密钥不属于本平台。',
  bad_signature: '签名校验失败：内容可能被伪造。',
  altered: '内容与签发时不一致：证明已被篡改。',
  not_found: '平台上没有这份证明。',
  revoked: '证明已被撤销。',
  expired: '证明已超过有效期。',
};

function verdictView(v) {
  const p = v.proof || {};
  return h(
    'section',
    { class: ['card', 'verdict', v.valid ? 'verdict-ok' : 'verdict-bad'], id: 'verdict', dataset: { status: v.status } },
    h('h2', null, v.valid ? '✔ 核验通过' : '✘ 核验未通过'),
    h('p', { class: 'verdict-why' }, WHY[v.status] || v.message || ''),
    v.proof
      ? h(
          'dl',
          { class: 'assist-dl' },
          h('dt', null, '证明编号'),
          h('dd', null, p.proof_no || ''),
          h('dt', null, '证明类型'),
          h('dd', null, p.title || ''),
          h('dt', null, '持有人'),
          h('dd', null, p.holder || ''),
          h('dt', null, '出具单位'),
          h('dd', null, p.issuer || ''),
          h('dt', null, '签发日期'),
          h('dd', null, (p.issued_at || '').slice(0, 10)),
          h('dt', null, '有效期至'),
          h('dd', null, (p.valid_until || '').slice(0, 10)),
        )
      : null,
  );
}

export async function render(main, ctx) {
  ctx.setTitle('证明核验');
  const out = h('div', { id: 'verify-out', 'aria-live': 'polite' });
  const no = h('input', { id: 'verify-no', name: 'no', maxlength: '32', autocomplete: 'off', placeholder: '例如 ZMS25QEQTCQQRA', value: ctx.params.get('no') || null });
  const qr = h('textarea', { id: 'verify-qr', name: 'qr', rows: '4', maxlength: '2048', placeholder: '用手机扫码后，把二维码内容粘贴到这里' });
  const byNo = h('form', { class: 'form card', id: 'verify-by-no' }, h('label', { for: 'verify-no' }, '按证明编号核验'), no, h('button', { type: 'submit', class: 'btn btn-primary' }, '核验'));
  const byQr = h('form', { class: 'form card', id: 'verify-by-qr' }, h('label', { for: 'verify-qr' }, '按二维码内容核验'), qr, h('button', { type: 'submit', class: 'btn btn-primary' }, '核验'));

  async function check(promise) {
    replace(out, h('p', { class: 'loading' }, '正在核验…'));
    try {
      replace(out, verdictView(await promise));
    } catch (e) {
      // 404 for an unknown number still carries a verdict.
      if (e.status === 404) replace(out, verdictView({ valid: false, status: 'not_found' }));
      else replace(out, notice('error', e.message || '核验失败'));
    }
  }
  byNo.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = no.value.trim().toUpperCase();
    if (v) check(api('GET', `/verify/${encodeURIComponent(v)}?format=json`));
  });
  byQr.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = qr.value.trim();
    if (v) check(post('/api/v1/proofs/verify', { qr: v }));
  });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '证明核验'), h('p', { class: 'page-sub' }, '岛上办签发的电子证明都带有数字签名，无需登录即可核验真伪。')),
    out,
    h('div', { class: 'verify-forms' }, byNo, byQr),
  );
  if (no.value) check(api('GET', `/verify/${encodeURIComponent(no.value.trim().toUpperCase())}?format=json`));
}
