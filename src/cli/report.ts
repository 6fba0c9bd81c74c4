import type { Command } from 'commander';
import { writeReport } from '../report/report.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write the study report: one self-contained HTML file (plots, findings, conclusion) and cells.csv')
    .argument('<study-dir>', 'folder written by slicewise study')
    .option('--out <dir>', 'where report.html and cells.csv go', '<study-dir>')
    .action(async (studyDir: string, options: { out: string }) => {
      const summary = await writeReport(studyDir, { outDir: options.out === '<study-dir>' ? undefined : options.out });
      const lines = [
        `${summary.done} of ${summary.cells} cells done${summary.failed ? `, ${summary.failed} failed` : ''}; ${summary.figures} figures`,
        ...summary.findings.map((f) => `finding ${f.number} ${f.verdict}: ${f.summary}`),
        ...summary.advice,
        `report: ${summary.htmlPath}`,
        `cells:  ${summary.csvPath}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
