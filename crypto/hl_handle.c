#include "crypto/hl_handle.h"

#include <string.h>

static int
handle_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '.' || c == '-');
}

int
hl_handle_valid(const char *s)
{
	if (s == NULL)
		return 0;
	size_t n = strlen(s);
	if (n < 2 || n > HL_HANDLE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!handle_char(s[i], i == 0))
			return 0;
	return 1;
}
