/*
 * Copyright (c) 2026 The chat authors.
 *
 * replay: a main() for the fuzz targets when built without libFuzzer.
 * Runs LLVMFuzzerTestOneInput once per file named on the command line,
 * so every corpus file (each past crash among them) is a regression
 * test in make check, with any compiler.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char **argv)
{
	static uint8_t	 buf[1 << 20];
	FILE		*fp;
	size_t		 n;
	int		 i;

	for (i = 1; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d inputs replayed\n", argc - 1);
	return 0;
}
