#include "tls/ossl_error.h"

#include <stdarg.h>
#include <stdio.h>

#include <openssl/err.h>

#include "util/error.h"

const char *tls_ossl_reason(char *buf, size_t cap)
{
    const char *data = NULL, *reason;
    unsigned long e;
    int flags = 0;

    e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
    if (e == 0) {
        snprintf(buf, cap, "unknown OpenSSL error");
        return buf;
    }
    reason = ERR_reason_error_string(e);
    if (reason == NULL) {
        ERR_error_string_n(e, buf, cap);
    } else if (data != NULL && *data != '\0' && (flags & ERR_TXT_STRING) != 0) {
        snprintf(buf, cap, "%s (%s)", reason, data);
    } else {
        snprintf(buf, cap, "%s", reason);
    }
    ERR_clear_error();
    return buf;
}

int tls_ossl_fail(int code, const char *fmt, ...)
{
    char what[ERROR_DETAIL_MAX], why[TLS_OSSL_REASON_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return error_set(code, "%s: %s", what, tls_ossl_reason(why, sizeof(why)));
}
