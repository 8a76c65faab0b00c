// /api/docs: Swagger UI over the console's own OpenAPI document. "Try it out" calls go with the signed-in
// session's cookie, so a call that changes something carries the CSRF token the console checks, as its forms do.
(function () {
  "use strict";
  var mount = document.getElementById("swagger-ui");
  if (!mount || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.SwaggerUIBundle({
    url: mount.getAttribute("data-spec-url"),
    domNode: mount,
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null, // never sent to the public validator: nothing leaves the service
    withCredentials: true,
    requestInterceptor: function (request) {
      if (csrf && request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRFToken"] = csrf.getAttribute("content");
      }
      return request;
    },
  });
})();
