// Peer engine for the Baheth benchmark: stock Lucene 8 with ArabicAnalyzer + BM25.
//
// Compiled and run by peers.py against the Debian liblucene8-java jars
// (lucene-core, lucene-analyzers-common, lucene-queryparser). No other deps.
//
//   java LuceneArabic index  DOCS.tsv INDEXDIR
//   java LuceneArabic search INDEXDIR TOPICS.tsv RUN.trec LIMIT [WARMUP_ROUNDS]
//
// DOCS.tsv: one document per line, "id<TAB>title<TAB>body", each field escaped
// by peers.py (backslash -> \\, TAB -> \t, LF -> \n, CR -> \r), UTF-8.
// TOPICS.tsv: "qid<TAB>query" lines, UTF-8.
// Each mode prints one JSON line of stats to stdout.

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.queryparser.classic.MultiFieldQueryParser;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;

public class LuceneArabic {
    static final String[] FIELDS = {"title", "body"};
    static final Pattern OPERATOR_WORDS = Pattern.compile("\\b(AND|OR|NOT)\\b");

    public static void main(String[] args) throws Exception {
        if (args.length >= 3 && args[0].equals("index")) {
            index(Paths.get(args[1]), Paths.get(args[2]));
        } else if (args.length >= 5 && args[0].equals("search")) {
            int warmup = args.length >= 6 ? Integer.parseInt(args[5]) : 1;
            search(Paths.get(args[1]), Paths.get(args[2]), Paths.get(args[3]),
                   Integer.parseInt(args[4]), warmup);
        } else {
            System.err.println("usage: LuceneArabic index DOCS.tsv INDEXDIR\n"
                + "       LuceneArabic search INDEXDIR TOPICS.tsv RUN.trec LIMIT [WARMUP_ROUNDS]");
            System.exit(2);
        }
    }

    /** Undo peers.py's field escaping (\\ \t \n \r). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 't': b.append('\t'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case '\\': b.append('\\'); break;
                    default: b.append('\\').append(n);
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static void index(Path docs, Path indexDir) throws IOException {
        long t0 = System.nanoTime();
        Analyzer analyzer = new ArabicAnalyzer();  // default Arabic stopword set
        IndexWriterConfig cfg = new IndexWriterConfig(analyzer);
        cfg.setSimilarity(new BM25Similarity());  // k1=1.2, b=0.75
        cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
        cfg.setRAMBufferSizeMB(256.0);
        long n = 0;
        try (Directory dir = FSDirectory.open(indexDir);
             IndexWriter w = new IndexWriter(dir, cfg);
             BufferedReader r = Files.newBufferedReader(docs, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty()) continue;
                String[] p = line.split("\t", -1);
                if (p.length != 3) throw new IOException("bad docs line " + (n + 1) + ": " + p.length + " fields");
                Document d = new Document();
                d.add(new StringField("id", unescape(p[0]), Field.Store.YES));
                d.add(new TextField("title", unescape(p[1]), Field.Store.NO));
                d.add(new TextField("body", unescape(p[2]), Field.Store.NO));
                w.addDocument(d);
                n++;
            }
            w.commit();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.println(String.format(Locale.ROOT,
            "{\"mode\": \"index\", \"docs\": %d, \"index_seconds\": %.6f}", n, secs));
    }

    static void search(Path indexDir, Path topics, Path run, int limit, int warmupRounds) throws Exception {
        List<String[]> qs = new ArrayList<>();
        for (String line : Files.readAllLines(topics, StandardCharsets.UTF_8)) {
            if (line.trim().isEmpty()) continue;
            int tab = line.indexOf('\t');
            if (tab < 0) continue;
            qs.add(new String[]{line.substring(0, tab).trim(), line.substring(tab + 1)});
        }
        Analyzer analyzer = new ArabicAnalyzer();
        int errors = 0;
        try (Directory dir = FSDirectory.open(indexDir);
             DirectoryReader reader = DirectoryReader.open(dir)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(new BM25Similarity());
            // Warm-up: run every query (untimed) warmupRounds times.
            for (int round = 0; round < warmupRounds; round++) {
                for (String[] q : qs) {
                    try { runOne(searcher, analyzer, q[1], limit); } catch (Exception e) { /* counted below */ }
                }
            }
            double[] lat = new double[qs.size()];
            List<List<String>> results = new ArrayList<>();
            for (int i = 0; i < qs.size(); i++) {
                long s = System.nanoTime();
                List<String> hits;
                try {
                    hits = runOne(searcher, analyzer, qs.get(i)[1], limit);
                } catch (Exception e) {
                    errors++;
                    hits = new ArrayList<>();
                }
                lat[i] = (System.nanoTime() - s) / 1e6;
                results.add(hits);
            }
            try (Writer out = new BufferedWriter(Files.newBufferedWriter(run, StandardCharsets.UTF_8))) {
                for (int i = 0; i < qs.size(); i++) {
                    List<String> hits = results.get(i);
                    for (int k = 0; k < hits.size(); k += 2) {
                        out.write(qs.get(i)[0] + " Q0 " + hits.get(k) + " " + (k / 2 + 1) + " "
                                  + hits.get(k + 1) + " lucene\n");
                    }
                }
            }
            StringBuilder js = new StringBuilder();
            js.append(String.format(Locale.ROOT,
                "{\"mode\": \"search\", \"docs\": %d, \"queries\": %d, \"errors\": %d, \"latencies_ms\": [",
                reader.numDocs(), qs.size(), errors));
            for (int i = 0; i < lat.length; i++) {
                if (i > 0) js.append(", ");
                js.append(String.format(Locale.ROOT, "%.4f", lat[i]));
            }
            js.append("]}");
            System.out.println(js);
        }
    }

    /** Parse + search + fetch stored ids; returns [docid, score, docid, score, ...]. */
    static List<String> runOne(IndexSearcher searcher, Analyzer analyzer, String text, int limit) throws Exception {
        List<String> out = new ArrayList<>();
        // escape() covers every special character; the bare operator words
        // AND/OR/NOT are lowercased (the analyzer lowercases anyway).
        String escaped = QueryParser.escape(OPERATOR_WORDS.matcher(text).replaceAll(m -> m.group().toLowerCase(Locale.ROOT))).trim();
        if (escaped.isEmpty()) return out;
        MultiFieldQueryParser parser = new MultiFieldQueryParser(FIELDS, analyzer);
        parser.setDefaultOperator(QueryParser.Operator.OR);
        Query q = parser.parse(escaped);
        TopDocs td = searcher.search(q, limit);
        for (ScoreDoc sd : td.scoreDocs) {
            out.add(searcher.doc(sd.doc).get("id"));
            out.add(String.format(Locale.ROOT, "%.6f", sd.score));
        }
        return out;
    }
}
