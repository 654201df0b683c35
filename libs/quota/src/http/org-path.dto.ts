import { Matches } from 'class-validator';

export class OrgPathDto {
  @Matches(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'org must be 1-128 letters, digits, ".", "_", "-" or ":"' })
  org: string;
}
