/* Console login: the JSON login, then the token goes into the HttpOnly session cookie. */
(function () {
  "use strict";
  LB.onSubmit(LB.$("#login-form"), async (data) => {
    const answer = await LB.post("auth/login", data, { noLoginRedirect: true });
    await LB.startSession(answer.access_token, LB.query("next"));
  });
})();
