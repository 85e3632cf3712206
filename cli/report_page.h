/* cli/report_page.h — writes `strata report`'s self-contained HTML page.
 *
 * Defines: report_write_page(). */
#ifndef STRATA_CLI_REPORT_PAGE_H
#define STRATA_CLI_REPORT_PAGE_H

#include <stdio.h>

/* Writes the page: title (HTML-escaped), the JSON data document (see the
 * contract at the top of report_page.c) embedded in a script element, and
 * the CSS + JavaScript that render it. */
void report_write_page(FILE *f, const char *title, const char *json);

#endif
