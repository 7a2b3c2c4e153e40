#include "tests/lib/hl_testapi.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hl_test_api_id(char *id)
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(id, 33, raw, sizeof raw);
}

int
hl_test_api(struct hl_test_relay *r, const char *method, const char *path,
    const char *body, const char *token, struct hl_test_http *out)
{
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.ca_file = r->ca_file[0] ? r->ca_file : NULL;
	return hl_test_http(r->url, method, path, body, token, &opts, out);
}

int
hl_test_api_send(struct hl_test_relay *r, const struct hl_test_account *from,
    const char *to, const char *id, const char *text, struct hl_test_http *out)
{
	size_t len = strlen(text);
	size_t n = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(n);
	if (b64 == NULL)
		return -1;
	sodium_bin2base64(b64, n, (const unsigned char *)text, len,
	    sodium_base64_VARIANT_ORIGINAL);
	json_t *j = json_pack("{s:s,s:s,s:i,s:s}", "to", to, "id", id, "type",
	    3, "body", b64);
	free(b64);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL)
		return -1;
	int rc = hl_test_api(r, "POST", "/v1/messages", body, from->token, out);
	free(body);
	return rc;
}

long
hl_test_api_fetch(struct hl_test_relay *r, const struct hl_test_account *who,
    int wait, json_t **json)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/messages?wait=%d", wait);
	struct hl_test_http res;
	*json = NULL;
	hl_test_api(r, "GET", path, NULL, who->token, &res);
	long status = res.status;
	if (status == 200)
		*json = hl_test_http_json(&res);
	hl_test_http_free(&res);
	return status;
}

long
hl_test_api_ack_all(struct hl_test_relay *r, const struct hl_test_account *who,
    json_t *fetched)
{
	json_t *qids = json_array();
	json_t *items = json_object_get(fetched, "messages");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		json_array_append(qids, json_object_get(it, "qid"));
	json_t *j = json_pack("{s:o}", "qids", qids);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL)
		return -1;
	struct hl_test_http res;
	hl_test_api(r, "POST", "/v1/messages/ack", body, who->token, &res);
	free(body);
	long deleted = -1;
	json_t *ans = res.status == 200 ? hl_test_http_json(&res) : NULL;
	if (json_is_integer(json_object_get(ans, "deleted")))
		deleted = (long)json_integer_value(json_object_get(ans,
		    "deleted"));
	json_decref(ans);
	hl_test_http_free(&res);
	return deleted;
}

long
hl_test_api_health(struct hl_test_relay *r)
{
	struct hl_test_http res;
	hl_test_api(r, "GET", "/v1/health", NULL, NULL, &res);
	long status = res.status;
	hl_test_http_free(&res);
	return status;
}
