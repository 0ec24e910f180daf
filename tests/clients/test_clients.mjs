#!/usr/bin/env node
// Call bertc serve (or TEI) through the official JavaScript client, @huggingface/inference.
//
//     node tests/clients/test_clients.mjs --url http://127.0.0.1:PORT --kind classifier|embedding [--full]
//
// (npm install @huggingface/inference in tests/clients first.)  Prints one JSON line per client call:
//   {"client": "@huggingface/inference", "version": "4.13.30", "method": "textClassification", "case": "plain",
//    "args": {...}, "ok": true, "value": ..., "error": ""}
// and {"client": "@huggingface/inference", "skipped": "not installed"} when the package cannot be imported.
// It always exits 0 (2 only for bad arguments): the C suite compares "value" with the native routes' answers.
//
// value: textClassification -> the array of {label, score} the client returned; featureExtraction ->
// {"shape", "head" (first 4 numbers of each row), "norm" (L2 of each row)} ("data": the whole array with --full);
// sentenceSimilarity -> the array of numbers.  error: "Name: [status N] message" (first 400 characters).
// Every call passes retry_on_error: false: the client otherwise repeats a request that got 503 forever
// (dist/commonjs/utils/request.js:36).

import { createRequire } from "node:module";

const TEXT = "I loved it";
const TEXTS = ["A man is eating food.", "Someone is eating a meal."];
const SOURCE = "A man is eating food.";
const OTHERS = ["Someone is eating a meal.", "The sky is blue today.", "A man eats."];
const LONG = "word ".repeat(600); // over 512 tokens: needs truncate
const CLIENT = "@huggingface/inference";

function parseArgs(argv) {
	const a = { url: null, kind: null, full: false, timeout: 30 };
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i];
		if (k === "--url") a.url = argv[++i];
		else if (k === "--kind") a.kind = argv[++i];
		else if (k === "--full") a.full = true;
		else if (k === "--timeout") a.timeout = Number(argv[++i]);
		else if (k === "--prompt-name") a.promptName = argv[++i];
		else {
			console.error(`unknown argument ${k}`);
			process.exit(2);
		}
	}
	if (!a.url || !["classifier", "embedding"].includes(a.kind)) {
		console.error("usage: node test_clients.mjs --url http://127.0.0.1:PORT --kind classifier|embedding [--full]");
		process.exit(2);
	}
	a.url = a.url.replace(/\/+$/, "");
	return a;
}

function emit(rec) {
	process.stdout.write(JSON.stringify(rec) + "\n");
}

function summarize(rows, full) {
	const norm = (r) => Math.sqrt(r.reduce((s, x) => s + x * x, 0));
	if (Array.isArray(rows) && rows.length && !Array.isArray(rows[0])) {
		const out = { shape: [rows.length], head: rows.slice(0, 4), norm: norm(rows) };
		if (full) out.data = rows;
		return out;
	}
	const out = {
		shape: [rows.length, rows.length ? rows[0].length : 0],
		head: rows.map((r) => r.slice(0, 4)),
		norm: rows.map(norm),
	};
	if (full) out.data = rows;
	return out;
}

function errText(e) {
	const status = e?.httpResponse?.status;
	const s = `${e?.name ?? "Error"}: ${status !== undefined ? `[status ${status}] ` : ""}${String(e?.message ?? e)}`;
	return s.replace(/\n/g, " ").slice(0, 400);
}

async function call(version, method, kase, args, fn) {
	const rec = { client: CLIENT, version, method, case: kase, args };
	try {
		rec.value = await fn();
		rec.ok = true;
		rec.error = "";
	} catch (e) {
		rec.ok = false;
		rec.value = null;
		rec.error = errText(e);
	}
	emit(rec);
}

async function main() {
	const a = parseArgs(process.argv.slice(2));
	let mod, version;
	try {
		mod = await import("@huggingface/inference");
		try {
			version = createRequire(import.meta.url)("@huggingface/inference/package.json").version;
		} catch {
			version = null;
		}
	} catch {
		emit({ client: CLIENT, skipped: "not installed" });
		return;
	}
	const { InferenceClient, HfInference } = mod;
	const opts = () => ({ retry_on_error: false, signal: AbortSignal.timeout(a.timeout * 1000) });
	const hf = new InferenceClient().endpoint(a.url); // the README's spelling
	const hfOpt = new InferenceClient("", { endpointUrl: a.url });
	const hfOld = HfInference ? new HfInference().endpoint(a.url) : null;

	if (a.kind === "classifier") {
		await call(version, "textClassification", "plain", { inputs: TEXT }, () =>
			hf.textClassification({ inputs: TEXT }, opts()),
		);
		await call(version, "textClassification", "endpointUrl-option", { inputs: TEXT }, () =>
			hfOpt.textClassification({ inputs: TEXT }, opts()),
		);
		if (hfOld)
			await call(version, "textClassification", "HfInference", { inputs: TEXT }, () =>
				hfOld.textClassification({ inputs: TEXT }, opts()),
			);
		await call(version, "textClassification", "top_k=1", { inputs: TEXT, parameters: { top_k: 1 } }, () =>
			hf.textClassification({ inputs: TEXT, parameters: { top_k: 1 } }, opts()),
		);
		await call(
			version,
			"textClassification",
			"function_to_apply=none",
			{ inputs: TEXT, parameters: { function_to_apply: "none" } },
			() => hf.textClassification({ inputs: TEXT, parameters: { function_to_apply: "none" } }, opts()),
		);
		// A batch of one ([[text]]) makes TEI answer [[{label, score}, ...]], the shape this client checks for.
		await call(version, "textClassification", "batch-of-one", { inputs: [[TEXT]] }, () =>
			hf.textClassification({ inputs: [[TEXT]] }, opts()),
		);
	} else {
		const fe = (args) => async () => summarize(await hf.featureExtraction(args, opts()), a.full);
		await call(version, "featureExtraction", "single", { inputs: TEXTS[0] }, fe({ inputs: TEXTS[0] }));
		await call(version, "featureExtraction", "endpointUrl-option", { inputs: TEXTS[0] }, async () =>
			summarize(await hfOpt.featureExtraction({ inputs: TEXTS[0] }, opts()), a.full),
		);
		await call(version, "featureExtraction", "batch", { inputs: TEXTS }, fe({ inputs: TEXTS }));
		await call(
			version,
			"featureExtraction",
			"normalize=false",
			{ inputs: TEXTS[0], normalize: false },
			fe({ inputs: TEXTS[0], normalize: false }),
		);
		await call(
			version,
			"featureExtraction",
			"truncate-left",
			{ inputs: "word * 600", truncate: true, truncation_direction: "left" },
			fe({ inputs: LONG, truncate: true, truncation_direction: "left" }),
		);
		await call(version, "featureExtraction", "too-long", { inputs: "word * 600" }, fe({ inputs: LONG }));
		await call(
			version,
			"featureExtraction",
			"dimensions=128",
			{ inputs: TEXTS[0], dimensions: 128 },
			fe({ inputs: TEXTS[0], dimensions: 128 }),
		);
		if (a.promptName)
			await call(
				version,
				"featureExtraction",
				"prompt_name",
				{ inputs: TEXTS[0], prompt_name: a.promptName },
				fe({ inputs: TEXTS[0], prompt_name: a.promptName }),
			);
		await call(
			version,
			"sentenceSimilarity",
			"plain",
			{ inputs: { source_sentence: SOURCE, sentences: OTHERS } },
			() => hf.sentenceSimilarity({ inputs: { source_sentence: SOURCE, sentences: OTHERS } }, opts()),
		);
	}
}

main().then(
	() => process.exit(0),
	(e) => {
		emit({ client: CLIENT, method: "setup", ok: false, value: null, error: errText(e) });
		process.exit(0);
	},
);
