/* Sandbox login picker: the fake WeChat's code "sandbox:<name>" stands for wx.login(). */
(function () {
  "use strict";
  const section = LB.$("#login");
  async function loginAs(name) {
    const answer = await LB.post("auth/wechat-login", { code: "sandbox:" + name.trim() }, { noLoginRedirect: true });
    await LB.startSession(answer.access_token, LB.query("next"));
  }
  LB.$$("[data-persona]").forEach((b) => LB.onClick(b, () => loginAs(b.dataset.persona), section));
  const form = LB.$("#login-form");
  if (form) LB.onSubmit(form, (data) => loginAs(data.name));
})();
