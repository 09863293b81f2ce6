/* standalone_main.c - runs a fuzz target over files, without libFuzzer.
 *
 * Linked with a fuzz target instead of -fsanitize=fuzzer, so the targets
 * build with any compiler and their corpora run as ordinary meson tests:
 *   fuzz_otlp_proto tests/fuzz/corpus/otlp_proto [more dirs or files]
 * Every regular file in each directory (sorted by name, not recursive) and
 * every file named is one input.  A broken invariant aborts the run; exit 1
 * when an argument cannot be read, 0 after all inputs ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* optional, as under libFuzzer: a target that sets up state once (a server)
 * defines it */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *p = realloc(data, cap);
			if (!p) {
				fclose(f);
				free(data);
				return -1;
			}
			data = p;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		perror(path);
		free(data);
		return -1;
	}
	/* an exact-size copy, so a read past the input is caught by ASan */
	uint8_t *exact = malloc(len ? len : 1);
	if (exact) {
		if (len)
			memcpy(exact, data, len);
		LLVMFuzzerTestOneInput(exact, len);
	}
	free(exact);
	free(data);
	return exact ? 0 : -1;
}

static int name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* runs every regular file of dir; returns the number run, or -1 */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof(*names));
			if (!p)
				break;
			names = p;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_order);
	long ran = 0;
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				failed = 1;
			else
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return failed ? -1 : ran;
}

int main(int argc, char **argv)
{
	long total = 0;
	int failed = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			long n = run_dir(argv[i]);
			if (n < 0)
				failed = 1;
			else
				total += n;
		} else if (run_file(argv[i]) < 0) {
			failed = 1;
		} else {
			total++;
		}
	}
	printf("%s: %ld inputs ran\n", argv[0], total);
	return failed ? 1 : 0;
}
