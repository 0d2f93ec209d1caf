/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfs-codec-bench: measures the pointer codec without a network.
 *
 * Each --base file is encoded in order as if sent earlier (its literals land
 * in the sender's tx log and, through the decoder, in the receiver's rx log),
 * then --target is encoded and decoded on the mirrored receiver and compared
 * byte for byte. The receiver acknowledges every block as soon as it has
 * applied it, so this is the codec with an instant ack: the transport's in-flight
 * window is not modelled. Prints one JSON object (figures in 10^6 bytes/s).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "chunker.h"
#include "codec.h"
#include "error.h"
#include "tool.h"

#define MAX_BASES 64

struct input {
	const char *path;
	const uint8_t *data;
	size_t len;
};

struct totals {
	uint64_t input, wire, header, ops, lit_enc, lit_raw, checks, ptr_bytes, blocks, ptrs;
	double enc_s, dec_s;
	int ok;
};

struct bench {
	struct pfs_codec_config cfg;
	uint64_t log_size;
	int index_rx;
	struct pfs_codec_keys keys;
	struct pfs_log *tx, *rx;
	struct pfs_index tx_index, rx_index;
	struct pfs_encoder *enc;
	struct pfs_decoder *dec;
	uint8_t *wire, *out;
};

static double now(void)
{
	return (double)now_ns() / 1e9;
}

static uint64_t parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		die(PFS_ERR_INVALID_ARG, "%s: '%s' is not a size (bytes, or with K/M/G)", opt, s);
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		die(PFS_ERR_INVALID_ARG, "%s: '%s' is not a size (bytes, or with K/M/G)", opt, s);
	return v;
}

static void map_input(struct input *in)
{
	struct stat st;
	int fd = open(in->path, O_RDONLY);

	if (fd < 0)
		die(-errno, "cannot open %s: %s", in->path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		die(PFS_ERR_INVALID_ARG, "%s is not a regular file", in->path);
	in->len = (size_t)st.st_size;
	in->data = (const uint8_t *)"";
	if (in->len) {
		void *p = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (p == MAP_FAILED)
			die(-errno, "cannot map %s: %s", in->path, strerror(errno));
		in->data = p;
	}
	close(fd);
}

static void setup(struct bench *b)
{
	struct pfs_log_config lc = { .capacity = b->log_size, .huge = PFS_HUGE_AUTO };
	uint8_t pair_key[PFS_PAIR_KEY_BYTES];
	char err[256] = "";
	int rc;

	/* a fixed key: wire bytes are reproducible from run to run */
	memset(pair_key, 0x5a, sizeof(pair_key));
	if ((rc = pfs_keys_derive(&b->keys, pair_key)))
		die(rc, "key derivation failed");
	if ((rc = pfs_log_open(&b->tx, &lc, err, sizeof(err))) ||
	    (rc = pfs_log_open(&b->rx, &lc, err, sizeof(err))))
		die(rc, "%s", err);
	uint64_t ib = pfs_index_bytes_for(b->log_size, b->cfg.avg_chunk);
	if ((rc = pfs_index_init(&b->tx_index, ib)) || (rc = pfs_index_init(&b->rx_index, ib)))
		die(rc, "cannot allocate a %llu-byte index", (unsigned long long)ib);
	if ((rc = pfs_encoder_new(&b->enc, &b->cfg, &b->keys, b->tx, &b->tx_index, NULL, NULL, err,
				  sizeof(err))))
		die(rc, "%s", err);
	if ((rc = pfs_decoder_new(&b->dec, &b->cfg, b->rx, NULL, b->index_rx ? &b->keys : NULL,
				  b->index_rx ? &b->rx_index : NULL)))
		die(rc, "cannot create the decoder");
	b->wire = malloc(pfs_block_bound(&b->cfg));
	b->out = malloc(b->cfg.block_max);
	if (!b->wire || !b->out)
		die(PFS_ERR_NOMEM, "out of memory");
}

/* Sends one file through encoder and decoder, block by block. */
static void send_file(struct bench *b, uint64_t stream, const struct input *in, struct totals *t)
{
	size_t cap = pfs_block_bound(&b->cfg);

	t->ok = 1;
	for (size_t pos = 0; pos < in->len || (pos == 0 && in->len == 0);) {
		struct pfs_block_info ei, di;
		size_t wl, n;
		double t0, t1, t2;
		int rc;

		t0 = now();
		rc = pfs_encoder_encode(b->enc, stream, pos, in->data + pos, in->len - pos, &n, b->wire,
					cap, &wl, &ei);
		t1 = now();
		if (rc)
			die(rc, "encoding %s at offset %zu failed: %s", in->path, pos, pfs_strerror(rc));
		rc = pfs_decoder_decode(b->dec, b->wire, wl, b->out, b->cfg.block_max, &di);
		t2 = now();
		if (rc)
			die(rc, "decoding %s at offset %zu failed: %s", in->path, pos, pfs_strerror(rc));
		if (di.out_len != n || memcmp(b->out, in->data + pos, n) != 0)
			t->ok = 0;
		/* the receiver acknowledges what it applied */
		pfs_log_set_frontier(b->tx, b->rx->contig);
		t->enc_s += t1 - t0;
		t->dec_s += t2 - t1;
		t->input += n;
		t->wire += wl;
		t->header += ei.header_len;
		t->ops += ei.ops_len;
		t->checks += ei.checks_len;
		t->lit_enc += ei.lit_enc_len;
		t->lit_raw += ei.lit_len;
		t->ptr_bytes += ei.ptr_bytes;
		t->ptrs += ei.n_ptrs;
		t->blocks++;
		pos += n;
		if (n == 0)
			break;
	}
}

/* Chunker alone over the input, repeated to at least 0.2 s. */
static double chunk_speed(const struct bench *b, const struct input *in)
{
	struct pfs_chunker c;
	uint64_t bytes = 0, cuts = 0;
	double t0 = now(), dt;

	if (in->len == 0)
		return 0;
	pfs_chunker_init(&c, b->keys.gear, b->cfg.avg_chunk, b->cfg.chunk_level);
	do {
		for (size_t pos = 0; pos < in->len; cuts++)
			pos += pfs_chunker_next(&c, in->data + pos, in->len - pos);
		bytes += in->len;
		dt = now() - t0;
	} while (dt < 0.2);
	return cuts ? (double)bytes / dt / 1e6 : 0;
}

/* zstd alone on the target, one frame, at the codec's level (3 unless told):
 * the reference for encode and decode speed on novel data. */
static void zstd_speed(const struct input *in, int level, size_t *csize, double *c_mbps,
		       double *d_mbps)
{
	size_t cap = ZSTD_compressBound(in->len), r;
	void *dst = malloc(cap), *back = malloc(in->len ? in->len : 1);
	double t0, t1, t2;

	*csize = 0;
	*c_mbps = *d_mbps = 0;
	if (!dst || !back || in->len == 0)
		goto out;
	/* fault the buffers in first: the codec's own buffers are warm too */
	memset(dst, 0, cap);
	memset(back, 0, in->len);
	t0 = now();
	*csize = ZSTD_compress(dst, cap, in->data, in->len, level);
	t1 = now();
	r = ZSTD_decompress(back, in->len, dst, *csize);
	t2 = now();
	if (ZSTD_isError(*csize) || ZSTD_isError(r) || r != in->len)
		die(PFS_ERR_DECOMPRESS, "zstd reference run failed on %s", in->path);
	*c_mbps = (double)in->len / (t1 - t0) / 1e6;
	*d_mbps = (double)in->len / (t2 - t1) / 1e6;
out:
	free(dst);
	free(back);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pfs-codec-bench [--base OLD]... --target NEW [--block-size N]\n"
		   "         [--avg-chunk N] [--min-match N] [--log-size N] [--level N] [--sparse-level N]\n"
		   "         [--prefix N] [--margin N] [--index-rx] [--json]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "base", required_argument, 0, 'b' },	  { "target", required_argument, 0, 't' },
		{ "block-size", required_argument, 0, 'B' }, { "lit-max", required_argument, 0, 'T' }, { "avg-chunk", required_argument, 0, 'c' },
		{ "chunk-level", required_argument, 0, 'n' }, { "min-match", required_argument, 0, 'm' },  { "log-size", required_argument, 0, 'L' },
		{ "level", required_argument, 0, 'l' }, { "sparse-level", required_argument, 0, 's' },	  { "prefix", required_argument, 0, 'p' },
		{ "margin", required_argument, 0, 'M' },	  { "index-rx", no_argument, 0, 'x' },
		{ "json", no_argument, 0, 'j' },		  { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct bench b = { .log_size = UINT64_C(1) << 30 };
	struct input bases[MAX_BASES], target = { 0 };
	struct totals base_t = { 0 }, t = { 0 };
	int nbases = 0, opt, lit_max_given = 0;
	size_t zsize;

	pfs_codec_config_default(&b.cfg);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (nbases == MAX_BASES)
				die(PFS_ERR_INVALID_ARG, "at most %d --base files", MAX_BASES);
			bases[nbases++] = (struct input){ .path = optarg };
			break;
		case 't': target.path = optarg; break;
		case 'T':
			b.cfg.lit_max = (uint32_t)parse_size("--lit-max", optarg);
			lit_max_given = 1;
			break;
		case 'B': b.cfg.block_max = (uint32_t)parse_size("--block-size", optarg); break;
		case 'c': b.cfg.avg_chunk = (uint32_t)parse_size("--avg-chunk", optarg); break;
		case 'n': b.cfg.chunk_level = (uint32_t)atoi(optarg); break;
		case 'm': b.cfg.min_match = (uint32_t)parse_size("--min-match", optarg); break;
		case 'L': b.log_size = parse_size("--log-size", optarg); break;
		case 'l': b.cfg.level = atoi(optarg); break;
		case 's': b.cfg.sparse_level = atoi(optarg); break;
		case 'p': b.cfg.prefix_max = (uint32_t)parse_size("--prefix", optarg); break;
		case 'M': b.cfg.margin = parse_size("--margin", optarg); break;
		case 'x': b.index_rx = 1; break;
		case 'j': break; /* JSON is the only output */
		case 'h': usage(stdout); return 0;
		default: usage(stderr); die(PFS_ERR_INVALID_ARG, "unknown option (see --help)");
		}
	}
	if (!target.path)
		die(PFS_ERR_INVALID_ARG, "--target is required");
	/* a smaller block implies at most that many literals, unless told otherwise */
	if (!lit_max_given && b.cfg.lit_max > b.cfg.block_max)
		b.cfg.lit_max = b.cfg.block_max;
	for (int i = 0; i < nbases; i++)
		map_input(&bases[i]);
	map_input(&target);
	setup(&b);

	for (int i = 0; i < nbases; i++) {
		struct totals one = { 0 };
		send_file(&b, (uint64_t)i + 1, &bases[i], &one);
		base_t.input += one.input;
		base_t.wire += one.wire;
		if (!one.ok)
			die(PFS_ERR_MALFORMED, "base %s did not round-trip", bases[i].path);
	}
	send_file(&b, 0, &target, &t);
	double zspeed, zdspeed;
	zstd_speed(&target, b.cfg.level ? b.cfg.level : 3, &zsize, &zspeed, &zdspeed);

	printf("{\n");
	printf("  \"input_bytes\": %llu,\n", (unsigned long long)t.input);
	printf("  \"wire_bytes\": %llu,\n", (unsigned long long)t.wire);
	printf("  \"pointer_bytes\": %llu,\n", (unsigned long long)(t.ops + t.checks));
	printf("  \"literal_bytes\": %llu,\n", (unsigned long long)t.lit_enc);
	printf("  \"header_bytes\": %llu,\n", (unsigned long long)t.header);
	printf("  \"literal_raw_bytes\": %llu,\n", (unsigned long long)t.lit_raw);
	printf("  \"pointer_covered_bytes\": %llu,\n", (unsigned long long)t.ptr_bytes);
	printf("  \"pointers\": %llu,\n", (unsigned long long)t.ptrs);
	printf("  \"blocks\": %llu,\n", (unsigned long long)t.blocks);
	printf("  \"base_bytes\": %llu,\n", (unsigned long long)base_t.input);
	printf("  \"base_wire_bytes\": %llu,\n", (unsigned long long)base_t.wire);
	printf("  \"ratio\": %.3f,\n", t.wire ? (double)t.input / (double)t.wire : 0.0);
	printf("  \"encode_MBps\": %.1f,\n", t.enc_s > 0 ? (double)t.input / t.enc_s / 1e6 : 0.0);
	printf("  \"decode_MBps\": %.1f,\n", t.dec_s > 0 ? (double)t.input / t.dec_s / 1e6 : 0.0);
	printf("  \"chunk_MBps\": %.1f,\n", chunk_speed(&b, &target));
	printf("  \"zstd3_MBps\": %.1f,\n", zspeed);
	printf("  \"zstd3_bytes\": %zu,\n", zsize);
	printf("  \"zstd3_decode_MBps\": %.1f,\n", zdspeed);
	printf("  \"roundtrip_ok\": %s,\n", t.ok ? "true" : "false");
	printf("  \"log_backing\": \"%s\",\n", pfs_log_backing_name(b.tx->backing));
	printf("  \"config\": {\"block_size\": %u, \"lit_max\": %u, \"avg_chunk\": %u, \"chunk_level\": %u, \"min_match\": %u, "
	       "\"level\": %d, \"sparse_level\": %d, \"prefix\": %u, \"margin\": %llu, \"log_size\": %llu, "
	       "\"index_rx\": %s}\n",
	       b.cfg.block_max, b.cfg.lit_max, b.cfg.avg_chunk, b.cfg.chunk_level, b.cfg.min_match, b.cfg.level, b.cfg.sparse_level, b.cfg.prefix_max,
	       (unsigned long long)b.cfg.margin, (unsigned long long)b.log_size,
	       b.index_rx ? "true" : "false");
	printf("}\n");

	pfs_encoder_free(b.enc);
	pfs_decoder_free(b.dec);
	pfs_index_free(&b.tx_index);
	pfs_index_free(&b.rx_index);
	pfs_log_close(b.tx);
	pfs_log_close(b.rx);
	return t.ok ? 0 : 1;
}
